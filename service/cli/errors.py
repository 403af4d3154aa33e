"""Errors the command line turns into one line and exit code 2 instead of a traceback."""

from __future__ import annotations

import sys


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def unreachable_types() -> tuple[type[BaseException], ...]:
    """What an unreachable database or broker raises; each becomes one line naming the service.

    Only from the drivers already imported: an error can come from no other, and importing
    SQLAlchemy, kombu and redis here would put them on the start of every command (even --help).
    """
    found: list[type[BaseException]] = []
    if "sqlalchemy.exc" in sys.modules:
        from sqlalchemy.exc import InterfaceError, OperationalError

        found += [OperationalError, InterfaceError]
    if "kombu.exceptions" in sys.modules:
        from kombu.exceptions import OperationalError as BrokerError

        found.append(BrokerError)
    if "redis.exceptions" in sys.modules:
        from redis.exceptions import ConnectionError as RedisConnectionError

        found.append(RedisConnectionError)
    return tuple(found)


def is_unreachable(exc: BaseException) -> bool:
    return isinstance(exc, unreachable_types())


def unreachable_line(exc: BaseException) -> str:
    """One line for an unreachable database or broker: which one, and the driver's first words."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError):
        what, cause = "the database", str(exc.orig) if exc.orig is not None else str(exc)
    else:
        what, cause = "the broker", str(exc)
    first = next((line.strip() for line in cause.splitlines() if line.strip()), type(exc).__name__)
    return f"cannot reach {what} (PAPERMAIL_{'DATABASE' if what == 'the database' else 'BROKER'}_URL): {first}"
