"""Errors the command line turns into one line and exit code 2 instead of a traceback."""

from __future__ import annotations

from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import InterfaceError, OperationalError


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


# What an unreachable database or broker raises; each becomes one line naming the service.
UNREACHABLE: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, BrokerError, RedisConnectionError)


def unreachable_line(exc: BaseException) -> str:
    """One line for an unreachable database or broker: which one, and the driver's first words."""
    if isinstance(exc, OperationalError | InterfaceError):
        what, cause = "the database", str(exc.orig) if exc.orig is not None else str(exc)
    else:
        what, cause = "the broker", str(exc)
    first = next((line.strip() for line in cause.splitlines() if line.strip()), type(exc).__name__)
    return f"cannot reach {what} (PAPERMAIL_{'DATABASE' if what == 'the database' else 'BROKER'}_URL): {first}"
