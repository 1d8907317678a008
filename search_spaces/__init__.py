"""Network families the expansion search can grow, by name.

Adding one: a module implementing `SearchSpace` and one `register(...)` call (below for the
built-in families; a user's own code can register one the same way before the search starts).
"""

from expansion.errors import ConfigError
from search_spaces.base import Axis, CheckpointScheme, InputView, SearchSpace
from search_spaces.x3d import X3D_SPACE

SPACES: dict[str, SearchSpace] = {}
DEFAULT_SPACE = X3D_SPACE.name


def register(space: SearchSpace) -> SearchSpace:
    """Make `space` known by its name to every entry point (`space=NAME`)."""
    SPACES[space.name] = space
    return space


def get_space(name: str) -> SearchSpace:
    """The registered search space called `name`."""
    try:
        return SPACES[name]
    except KeyError:
        known = ", ".join(SPACES)
        raise ConfigError(f"unknown search space {name!r}; known: {known}") from None


register(X3D_SPACE)

__all__ = [
    "DEFAULT_SPACE",
    "SPACES",
    "Axis",
    "CheckpointScheme",
    "InputView",
    "SearchSpace",
    "get_space",
    "register",
]
