"""What a network family must provide to be searched by progressive expansion.

A search space is a seed configuration, a table of axes that each grow or shrink one aspect of a
configuration, a builder, and the input view (frames, stride, crop) a configuration is trained
on. Configurations are frozen dataclasses, so they are hashable (complexity is cached by them)
and an unknown field fails at construction.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from expansion.errors import ConfigError


@dataclass(frozen=True)
class InputView:
    """How a configuration sees a video: `frames` frames, `stride` source frames apart, `crop`²."""

    frames: int
    stride: float
    crop: int

    def __post_init__(self) -> None:
        if self.frames < 1 or self.stride <= 0 or self.crop < 1:
            raise ConfigError(
                f"invalid input view {self}: frames, stride and crop must be positive"
            )

    def clip_shape(self, batch: int = 1) -> tuple[int, int, int, int, int]:
        """The tensor shape `(B, 3, T, H, W)` of a batch of clips in this view."""
        return (batch, 3, self.frames, self.crop, self.crop)


@dataclass(frozen=True)
class Axis:
    """One expansion axis: a named way to scale a configuration by a factor.

    `apply(config, factor)` returns the configuration with this axis scaled by `factor` (> 1
    expands, < 1 contracts), rounded to one that builds. The complexity of the result must be
    non-decreasing in `factor`, so that contraction can bisect over it.
    """

    name: str
    paper_name: str
    step: float
    description: str
    apply: Callable[[Any, float], Any]

    def expand(self, config: Any) -> Any:
        """The configuration one default step of this axis further out."""
        return self.apply(config, self.step)


class CheckpointScheme(Protocol):
    """How another codebase names the tensors of a family's network, for reading its checkpoints.

    `names` maps the keys of our state dict to that codebase's keys; `identity_bns` lists our
    BatchNorm modules that it leaves out (they load as identities); `to_ours` reshapes a tensor
    that it lays out otherwise (a Linear weight for a 1×1×1 conv).
    """

    name: str
    identity_bns: tuple[str, ...]

    def rename(self, key: str) -> str:
        """This codebase's name for one of our state-dict keys."""
        ...

    def names(self, keys: Iterable[str]) -> dict[str, str]:
        """Our keys → this codebase's keys."""
        ...

    def to_ours(self, key: str, value: torch.Tensor) -> torch.Tensor:
        """This codebase's tensor for our `key`, in our layout."""
        ...


class SearchSpace(Protocol):
    """A network family that the expansion search can grow. See `search_spaces.x3d` for one.

    Subclass it to get the optional parts' defaults: no foreign checkpoint formats, no
    architecture read from a foreign checkpoint, no details beyond the configuration and its
    complexity in `describe`.
    """

    name: str
    title: str  # how messages name the family, e.g. "X3D"
    axes: Mapping[str, Axis]
    seed: Any
    presets: Mapping[str, Any]
    classifier: str  # state-dict key of the classifier weight, (num_classes, features)
    checkpoint_schemes: Sequence[CheckpointScheme] = ()
    inherits_weights: bool = False  # `transfer_weights` is implemented (else no search inherits)

    def build(self, config: Any, num_classes: int, dropout: float = 0.0) -> nn.Module:
        """A freshly initialised network for `config` (dropout before the classifier)."""
        ...

    def structure(self, config: Any) -> Hashable:
        """A key equal for configurations that build the same network on the same input.

        Factors round to channels and blocks, so many configurations share one network; the
        complexity cache keys on this, which keeps contraction's bisection cheap.
        """
        ...

    def input_view(self, config: Any) -> InputView:
        """The clip geometry `config` is trained and measured on."""
        ...

    def to_dict(self, config: Any) -> dict[str, Any]:
        """A plain, YAML-friendly description of `config`; `from_dict` reads it back."""
        ...

    def from_dict(self, values: Mapping[str, Any]) -> Any:
        """The configuration `to_dict` described; unknown or missing fields: a `ConfigError`."""
        ...

    def architecture_from_checkpoint(
        self,
        document: Mapping[str, Any],
        state: Mapping[str, torch.Tensor],
        scheme: CheckpointScheme,
    ) -> Any | None:
        """The configuration a foreign checkpoint holds: from the shapes of `state` (named by
        `scheme`) and whatever settings its file `document` stores beside it.

        None: this family cannot tell (the caller must name the configuration). A `UserError`
        (one line, without the path) says what the checkpoint does not fix.
        """
        return None

    def transfer_weights(
        self,
        parent: Any,
        parent_state: Mapping[str, torch.Tensor],
        child: Any,
        num_classes: int,
        *,
        noise: float = 0.0,
        seed: int = 0,
    ) -> dict[str, torch.Tensor] | None:
        """The starting weights of `child` from those of its parent (`inherit=true`), as a state
        dict `build(child, num_classes)` loads; `noise` breaks the symmetry of copied channels,
        `seed` draws it. None: this family cannot inherit (`inherits_weights` false: searches
        with it train from scratch, whatever `inherit` says).
        """
        return None

    def label(self, config: Any) -> str:
        """`config` in a few words, for messages."""
        values = ", ".join(f"{key} {value}" for key, value in self.to_dict(config).items())
        return f"{self.title} ({values})"

    def details(self, config: Any) -> dict[str, Any]:
        """What `describe` adds to a configuration's report (JSON-ready), e.g. its stages."""
        return {}

    def format_details(self, report: Mapping[str, Any]) -> list[str]:
        """The table lines `describe` prints for `details` (given the whole report)."""
        return []
