"""The errors and warnings of the data pipeline."""

from collections.abc import Sequence

from expansion.errors import DataError


class UnreadableVideo(DataError):
    """One video could not be read; the dataset replaces it and counts it as a failure."""


class UnreadableVideoWarning(UserWarning):
    """A video could not be read and was replaced or skipped; its own category, to filter it."""


def why_unreadable(name: str, error: BaseException) -> str:
    """`name (reason)`, the reason being the first line of `error` (or its type)."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"{name} ({reason})"


def too_many_unreadable(names: Sequence[str], total: int, max_bad_share: float) -> DataError:
    """The one-line error for more than `max_bad_share` of `total` videos unreadable."""
    more = ", ..." if len(names) > 3 else ""
    return DataError(
        f"{len(names)} of {total} videos are unreadable (more than {max_bad_share:.0%}): "
        f"{', '.join(names[:3])}{more}"
    )


__all__ = [
    "DataError",
    "UnreadableVideo",
    "UnreadableVideoWarning",
    "too_many_unreadable",
    "why_unreadable",
]
