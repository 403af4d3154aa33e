"""Admin accounts: argon2 hashes, login, and no lock on the account itself (the web throttles
per client: tests/service/web/admin/test_login_throttle.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.settings import Settings
from service.storage import migrate
from service.admin.users import (
    AdminError,
    LoginFailed,
    authenticate,
    create_admin,
    set_password,
)
from service.storage.db import session_scope
from service.storage.models import AdminUser

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin(settings: Settings) -> Settings:
    migrate.upgrade(settings)
    with session_scope(settings) as session:
        create_admin(session, "Root@Example.org", PASSWORD, NOW)
    return settings


def login(settings: Settings, password: str, at: datetime, email: str = "root@example.org") -> AdminUser:
    """One attempt in its own transaction, committed even when it fails (as the web will)."""
    with session_scope(settings) as session:
        try:
            return authenticate(session, email, password, at)
        finally:
            session.commit()


def test_password_is_stored_as_argon2id(admin: Settings) -> None:
    with session_scope(admin) as session:
        user = session.query(AdminUser).one()
        assert user.email == "root@example.org"
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_login_succeeds_and_stamps_it(admin: Settings) -> None:
    user = login(admin, PASSWORD, NOW, email="ROOT@example.org ")
    assert user.last_login_at == NOW and user.failed_logins == 0


def test_unknown_address_and_wrong_password_say_the_same(admin: Settings) -> None:
    with pytest.raises(LoginFailed) as unknown:
        login(admin, PASSWORD, NOW, email="nobody@example.org")
    with pytest.raises(LoginFailed) as wrong:
        login(admin, "wrong password!!", NOW)
    assert str(unknown.value) == str(wrong.value)


def test_wrong_passwords_never_lock_the_account(admin: Settings) -> None:
    # Anyone can type wrong passwords: counting them on the account must not lock its owner out.
    for _ in range(20):
        with pytest.raises(LoginFailed):
            login(admin, "wrong password!!", NOW)
    assert login(admin, PASSWORD, NOW).locked_until is None


def test_inactive_admin_cannot_log_in(admin: Settings) -> None:
    with session_scope(admin) as session:
        session.query(AdminUser).one().is_active = False
    with pytest.raises(LoginFailed):
        login(admin, PASSWORD, NOW)


def test_bad_input(admin: Settings) -> None:
    with session_scope(admin) as session:
        with pytest.raises(AdminError, match="exists already"):
            create_admin(session, "root@example.org", PASSWORD, NOW)
        with pytest.raises(AdminError, match="at least 12"):
            create_admin(session, "new@example.org", "short", NOW)
        with pytest.raises(AdminError, match="not a valid address"):
            create_admin(session, "not-an-address", PASSWORD, NOW)


def test_set_password_resets_the_failure_count(admin: Settings) -> None:
    with session_scope(admin) as session:
        user = session.query(AdminUser).one()
        user.failed_logins = 2
        set_password(user, "a brand new passphrase")
    assert login(admin, "a brand new passphrase", NOW).failed_logins == 0
