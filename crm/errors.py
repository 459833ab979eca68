"""Errors the command line reports in one line (exit status 2), never as a traceback."""


class UsageError(ValueError):
    """A wrong flag, value or name given by the user."""
