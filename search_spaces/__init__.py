"""Network families the expansion search can grow. Adding one: a new module and a line below."""

from search_spaces.base import Axis, InputView, SearchSpace
from search_spaces.x3d import X3D_SPACE

SPACES: dict[str, SearchSpace] = {X3D_SPACE.name: X3D_SPACE}


def get_space(name: str) -> SearchSpace:
    """The registered search space called `name`."""
    try:
        return SPACES[name]
    except KeyError:
        raise ValueError(f"unknown search space {name!r}; known: {', '.join(SPACES)}") from None


__all__ = ["SPACES", "Axis", "InputView", "SearchSpace", "get_space"]
