"""The one error type for bad command-line input."""


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""
