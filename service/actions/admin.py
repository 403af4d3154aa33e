"""Admin accounts, their sign-ins, and API tokens: from the CLI and the admin pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service.admin import audit
from service.admin.api_tokens import create_token, revoke_token
from service.admin.users import LockoutPolicy, authenticate, create_admin
from service.storage.models import AdminUser, ApiToken


def add_admin(session: Session, email: str, password: str, *, actor: str, now: datetime) -> AdminUser:
    """An admin who can sign in to /admin. Raises AdminError (address, password, exists)."""
    user = create_admin(session, email, password, now)
    audit.record(session, actor, "admin.create", "admin_user", user.id, None, {"email": user.email})
    return user


def log_in(session: Session, email: str, password: str, now: datetime, policy: LockoutPolicy) -> AdminUser:
    """The admin for EMAIL and PASSWORD, or LoginFailed / AccountLocked. The caller commits in
    both cases: a failure's counter must be stored though it raises (that is what locks)."""
    user = authenticate(session, email, password, now, policy)
    audit.record(session, user.email, "admin.login", "admin_user", user.id)
    return user


def log_out(session: Session, admin_id: int, *, actor: str) -> None:
    # Nothing is stored about sessions (the cookie is signed): the log is the only trace.
    audit.record(session, actor, "admin.logout", "admin_user", admin_id)


def issue_api_token(session: Session, name: str, *, actor: str, now: datetime,
                    created_by: int | None = None) -> tuple[ApiToken, str]:
    """A new token row and the token itself, shown once and never stored. Raises TokenError."""
    row, token = create_token(session, name, now, created_by=created_by)
    audit.record(session, actor, "api_token.create", "api_token", row.id, None, {"name": row.name})
    return row, token


def revoke_api_token(session: Session, token_id: int, *, actor: str, now: datetime) -> ApiToken | None:
    """Refuse every call with the token from now on; None when there is no such token."""
    row = revoke_token(session, token_id, now)
    if row is not None:
        audit.record(session, actor, "api_token.revoke", "api_token", row.id, None, {"name": row.name})
    return row
