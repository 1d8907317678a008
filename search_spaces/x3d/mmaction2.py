"""X3D checkpoints in mmaction2's format: `python -m search_spaces.x3d.mmaction2 IN OUT.pth`.

Writes any checkpoint this project reads (its own, pytorchvideo's, SlowFast's, mmaction2's) as
`{"meta": …, "state_dict": …}` with mmaction2's `Recognizer3D` names (`backbone.*`, `cls_head.*`),
loadable by mmaction2 1.x with `backbone=dict(type='X3D', gamma_w, gamma_b, gamma_d)` and
`cls_head=dict(type='X3DHead', in_channels, num_classes)`, the values the command prints.

Widths: mmaction2 rounds one width, the stem's (`round(24·gamma_w)`), and doubles it per stage;
SlowFast and this project round each stage's width from the width factor (`round(12·2^s·γw)`).
Its `gamma_w` is half our width factor (gamma_w=1 is width factor 2.0: XS, S, M, L), and a
network exports only when its stage widths are the stem's × 1, 2, 4, 8 (so 2.0, but not XL's
2.9: stem 32, stages 32, 72, 136, 280). Every mmaction2 X3D reads back in: its widths `w·2^s`
(w a multiple of 8) are what width factor w/12 gives, e.g. gamma_w=1.45 (w = 32) reads as 2.7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from expansion.cli import OneLineParser, user_errors_as_one_line
from expansion.errors import ConfigError
from expansion.results.architecture import resolve_architecture
from expansion.results.atomic import write_atomically
from expansion.results.checkpoints import load_checkpoint
from search_spaces.x3d.architecture import META_CONFIG
from search_spaces.x3d.checkpoint_names import MMACTION2, to_scheme
from search_spaces.x3d.model import X3DConfig, network_shape
from search_spaces.x3d.space import X3D_SPACE

PROG = "python -m search_spaces.x3d.mmaction2"


def mmaction2_model(config: X3DConfig, num_classes: int) -> dict[str, dict[str, Any]]:
    """The `backbone` and `cls_head` settings of mmaction2's X3D that build `config`'s network.

    A `ConfigError` when its stage widths are not the stem's × 1, 2, 4, 8 (see the module).
    """
    shape = network_shape(config)
    doubled = tuple(shape.stem * 2**stage for stage in range(len(shape.widths)))
    if shape.widths != doubled:
        raise ConfigError(
            f"width factor {config.width_factor:g} gives stage widths {shape.widths}, not the "
            f"stem's {shape.stem} × 1, 2, 4, 8: mmaction2's X3D cannot build that network"
        )
    backbone = {
        "type": "X3D",
        "gamma_w": config.width_factor / 2,
        "gamma_b": config.bottleneck_factor,
        "gamma_d": config.depth_factor,
    }
    head = {"type": "X3DHead", "in_channels": shape.inners[-1], "num_classes": num_classes}
    return {"backbone": backbone, "cls_head": head}


def save_mmaction2(path: str | Path, model: nn.Module, config: X3DConfig) -> dict[str, Any]:
    """Write `model` of `config` in mmaction2's format; returns its mmaction2 model settings.

    `meta` keeps `config` too, so this project reads back its frames, stride and crop.
    """
    state = model.state_dict()
    settings = mmaction2_model(config, state[X3D_SPACE.classifier].shape[0])
    document = {
        "meta": {META_CONFIG: asdict(config), "mmaction2_model": settings},
        "state_dict": to_scheme(state, MMACTION2),
    }
    write_atomically(Path(path), lambda partial: torch.save(document, partial))
    return settings


def _python(settings: dict[str, Any]) -> str:
    """`settings` as mmaction2's Python configs write them: `dict(type='X3D', gamma_w=1.0, …)`."""
    return "dict(" + ", ".join(f"{key}={value!r}" for key, value in settings.items()) + ")"


def main(argv: Sequence[str] | None = None) -> None:
    parser = OneLineParser(prog=PROG, description="Write an X3D checkpoint in mmaction2's format.")
    parser.add_argument("checkpoint", type=Path, help="any checkpoint `evaluate` reads")
    parser.add_argument("out", type=Path, help="the mmaction2 checkpoint to write (.pth)")
    parser.add_argument(
        "--arch", default="auto", help="preset or final.yaml (default: read from the checkpoint)"
    )
    args = parser.parse_args(argv)
    with user_errors_as_one_line(PROG):
        config = None
        if args.arch != "auto":
            _, config = resolve_architecture(args.arch, X3D_SPACE)
        loaded = load_checkpoint(args.checkpoint, X3D_SPACE, config)
        settings = save_mmaction2(args.out, loaded.model, loaded.config)
    print(f"wrote {args.out}: mmaction2 model settings")
    for part, values in settings.items():
        print(f"    {part}={_python(values)},")


if __name__ == "__main__":
    main()
