"""The errors of the data pipeline."""


class DataError(ValueError):
    """A problem with the data a user pointed at, described in one line."""


class UnreadableVideo(DataError):
    """One video could not be read; the dataset replaces it and counts it as a failure."""
