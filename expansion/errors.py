"""The errors a user can cause, and so can fix: each ends a command with one line and exit code 2.

Anything else raised (a bug, inside this project or in torch, numpy, Ray) is not a `UserError`
and keeps its traceback, so it can be reported and fixed.
"""


class UserError(Exception):
    """A problem with what the user asked for or pointed at, described in one line."""


class ConfigError(UserError):
    """A setting, flag or configuration value that cannot be used as given."""


class SearchError(UserError):
    """The search cannot go on (bad settings, or every candidate of a step failed)."""


class DataError(UserError):
    """A problem with the data a user pointed at (a root, a list file, unreadable videos)."""


class CheckpointError(UserError):
    """A checkpoint that cannot be read or does not fit the requested model."""
