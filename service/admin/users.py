"""Admin accounts: argon2id password hashes and the password check of a login.

An account is never locked here: a lock on the account alone lets anyone lock the admin out.
Repeated failures are throttled per (account, client) and per client by the web's sign-in
throttle (service.web.admin.login_throttle), whose budget is ``ADMIN_MAX_FAILED_LOGINS``
(default 5) per ``ADMIN_LOCKOUT_MINUTES`` (default 15).
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin.roles import RoleError, check_role
from service.storage.models import AdminUser

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # argon2 hashes anything, but a megabyte "password" is an attack

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the address is unknown, so a miss costs as long as a wrong password.
    Made on first use: at import it cost every papermail process 0.23 s of argon2."""
    return _hasher.hash("papermail-dummy-password-for-timing")


class AdminError(ValueError):
    """Bad input for an admin account: one line."""


class LoginFailed(Exception):
    """Unknown address, wrong password or inactive account (never says which)."""


def normalise_admin_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AdminError(f"{raw!r} is not a valid address ({exc})") from None


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AdminError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AdminError(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def find_admin(session: Session, email: str) -> AdminUser | None:
    return session.scalars(select(AdminUser).where(AdminUser.email == email.strip().lower())).one_or_none()


class AdminExists(AdminError):
    """The address has an account already: its id, address and whether it may sign in (plain
    values: they outlive the session that raised)."""

    def __init__(self, user: AdminUser) -> None:
        super().__init__(f"an admin {user.email} exists already")
        self.user_id, self.email, self.active = user.id, user.email, user.is_active


def create_admin(session: Session, email: str, password: str, now: datetime, role: str = "owner") -> AdminUser:
    """A new account; AdminError for a bad address, password or role, AdminExists for a taken address."""
    address = normalise_admin_email(email)
    try:
        checked = check_role(role)
    except RoleError as exc:
        raise AdminError(str(exc)) from None
    existing = find_admin(session, address)
    if existing is not None:
        raise AdminExists(existing)
    user = AdminUser(email=address, password_hash=hash_password(password), created_at=now, role=checked)
    session.add(user)
    session.flush()
    return user


def list_admins(session: Session) -> list[AdminUser]:
    return list(session.scalars(select(AdminUser).order_by(AdminUser.email)))


def active_owners(session: Session) -> int:
    return len(session.scalars(select(AdminUser.id).where(AdminUser.is_active.is_(True),
                                                          AdminUser.role == "owner")).all())


def fingerprint(password_hash: str) -> str:
    """A short digest of the password hash: a session cookie or reset link carries it, so a
    new password ends every session and link made with the old one."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def set_password(user: AdminUser, password: str) -> None:
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str, now: datetime) -> AdminUser:
    """The admin for EMAIL and PASSWORD, or LoginFailed.

    The caller commits in both cases: a failure's counter (consecutive failures, for the
    record; it locks nothing) is stored even though it raises.
    """
    user = find_admin(session, email) if len(password) <= MAX_PASSWORD_CHARS else None
    if user is None:
        _verify(_dummy_hash(), password[:MAX_PASSWORD_CHARS])
        raise LoginFailed("wrong address or password")
    if not _verify(user.password_hash, password) or not user.is_active:
        user.failed_logins += 1
        raise LoginFailed("wrong address or password")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user
