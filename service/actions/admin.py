"""Admin accounts, their sign-ins, and API tokens: from the CLI and the admin pages.

An account is never deleted (the audit log names it); it is disabled. The last active owner
cannot be disabled or made a viewer: someone must be left who can change things.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service.admin import audit
from service.admin.api_tokens import create_token, revoke_token
from service.admin.roles import RoleError, check_role
from service.admin.users import (
    AdminError,
    active_owners,
    authenticate,
    create_admin,
    find_admin,
    set_password,
)
from service.storage.models import AdminUser, ApiToken

ADMIN_AUDITED = ("email", "role", "is_active")


class LastOwner(AdminError):
    """The change would leave no active owner."""


def add_admin(session: Session, email: str, password: str, *, actor: str, now: datetime,
              role: str = "owner") -> AdminUser:
    """An admin who can sign in to /admin. Raises AdminError (address, password, role) or
    AdminExists."""
    user = create_admin(session, email, password, now, role)
    audit.record(session, actor, "admin.create", "admin_user", user.id, None, audit.snapshot(user, ADMIN_AUDITED))
    return user


def _keeps_an_owner(session: Session, user: AdminUser, *, role: str, active: bool) -> None:
    if user.role == "owner" and user.is_active and (role != "owner" or not active) and active_owners(session) <= 1:
        raise LastOwner(f"{user.email} is the last active owner: make another admin an owner first")


def change_admin_role(session: Session, user: AdminUser, role: str, *, actor: str) -> bool:
    """Give USER ROLE; False when they had it. Raises AdminError (unknown role) or LastOwner."""
    try:
        checked = check_role(role)
    except RoleError as exc:
        raise AdminError(str(exc)) from None
    if user.role == checked:
        return False
    _keeps_an_owner(session, user, role=checked, active=user.is_active)
    before = audit.snapshot(user, ADMIN_AUDITED)
    user.role = checked
    audit.record(session, actor, "admin.role", "admin_user", user.id, *audit.changed(before, audit.snapshot(user, ADMIN_AUDITED)))
    return True


def set_admin_active(session: Session, user: AdminUser, active: bool, *, actor: str) -> bool:
    """Enable or disable USER (a disabled admin's sessions end at their next request); False
    when nothing changed. Raises LastOwner."""
    if user.is_active == active:
        return False
    _keeps_an_owner(session, user, role=user.role, active=active)
    user.is_active = active
    if active:
        user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "admin.enable" if active else "admin.disable", "admin_user", user.id,
                 {"is_active": not active}, {"is_active": active})
    return True


def change_admin_password(session: Session, user: AdminUser, password: str, *, actor: str) -> None:
    """A new password (ends every session and reset link made before). Raises AdminError."""
    set_password(user, password)
    audit.record(session, actor, "admin.password", "admin_user", user.id)


def note_reset_link(session: Session, user: AdminUser, *, actor: str) -> None:
    """A one-time password reset link was made for USER (the link itself is never logged)."""
    audit.record(session, actor, "admin.reset_link", "admin_user", user.id)


def log_in(session: Session, email: str, password: str, now: datetime) -> AdminUser:
    """The admin for EMAIL and PASSWORD, or LoginFailed. The caller commits in both cases: a
    failure's counter is stored though it raises."""
    user = authenticate(session, email, password, now)
    audit.record(session, user.email, "admin.login", "admin_user", user.id)
    return user


def note_login_refused(session: Session, email: str, client: str, *, scope: str, retry_after: float) -> None:
    """The sign-in throttle started refusing CLIENT (``scope`` "account": for the account EMAIL;
    "client": for any further account). Written once when it starts, not per refused attempt,
    so hammering cannot grow the log. A typed address that is no admin's is not logged (people
    type their password into the address field)."""
    user = find_admin(session, email)
    after = {"client": client, "retry_after_seconds": round(retry_after),
             **({"account": user.email} if user is not None else {})}
    action = "admin.login_locked" if scope == "account" else "admin.login_throttled"
    audit.record(session, f"client:{client}", action, "admin_user", user.id if user is not None else None, None, after)


def log_out(session: Session, admin_id: int, *, actor: str) -> None:
    # Nothing is stored about sessions (the cookie is signed): the log is the only trace.
    audit.record(session, actor, "admin.logout", "admin_user", admin_id)


def issue_api_token(session: Session, name: str, *, actor: str, now: datetime,
                    created_by: int | None = None, role: str = "owner") -> tuple[ApiToken, str]:
    """A new token row and the token itself, shown once and never stored. Raises TokenError."""
    row, token = create_token(session, name, now, created_by=created_by, role=role)
    audit.record(session, actor, "api_token.create", "api_token", row.id, None, {"name": row.name, "role": row.role})
    return row, token


def revoke_api_token(session: Session, token_id: int, *, actor: str, now: datetime) -> ApiToken | None:
    """Refuse every call with the token from now on; None when there is no such token."""
    row = revoke_token(session, token_id, now)
    if row is not None:
        audit.record(session, actor, "api_token.revoke", "api_token", row.id, None, {"name": row.name})
    return row
