"""The errors of the data pipeline."""

from expansion.errors import DataError


class UnreadableVideo(DataError):
    """One video could not be read; the dataset replaces it and counts it as a failure."""


__all__ = ["DataError", "UnreadableVideo"]
