"""X3D checkpoints of this project, pytorchvideo, SlowFast and mmaction2, loaded into an X3D."""

from __future__ import annotations

from pathlib import Path

from expansion.results.checkpoints import load_checkpoint
from search_spaces.x3d.model import X3D, X3DConfig
from search_spaces.x3d.space import X3D_SPACE


def load_x3d(
    path: str | Path,
    config: X3DConfig | None = None,
    num_classes: int | None = None,
    dropout: float = 0.0,
) -> X3D:
    """An X3D carrying a checkpoint's weights, strictly (see `load_checkpoint`); without
    `config`, the one the checkpoint holds (`search_spaces.x3d.architecture`)."""
    model = load_checkpoint(path, X3D_SPACE, config, num_classes, dropout).model
    assert isinstance(model, X3D)
    return model
