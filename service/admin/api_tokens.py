"""API tokens for /api/v1: shown once at creation, stored as a sha256 hash, revocable.

A token is 32 random bytes, so a fast hash is enough (nothing to brute-force); lookup is by
the hash's unique index, which also makes the comparison independent of the token's value.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin.roles import RoleError, check_role
from service.storage.models import ApiToken

PREFIX = "pm_"
# last_used_at is written at most this often, so a busy client does not make every read a write.
TOUCH_EVERY = timedelta(minutes=1)


class TokenError(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(session: Session, name: str, now: datetime, created_by: int | None = None,
                 role: str = "owner") -> tuple[ApiToken, str]:
    """A new token row and the token itself: the only time the plain token exists."""
    name = " ".join(name.split())
    if not name or len(name) > 128:
        raise TokenError("a token name has 1 to 128 characters")
    try:
        checked = check_role(role)
    except RoleError as exc:
        raise TokenError(str(exc)) from None
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=hash_token(token), created_by=created_by, created_at=now, role=checked)
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, token_id: int, now: datetime) -> ApiToken | None:
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def authenticate_token(session: Session, token: str, now: datetime) -> ApiToken | None:
    """The live token row for TOKEN, or None (unknown, malformed or revoked)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        row.last_used_at = now
    return row
