"""Admin accounts, sign-ins and API tokens: each leaves one audit row, never a secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.admin import add_admin, issue_api_token, log_in, log_out, revoke_api_token
from service.admin.api_tokens import authenticate_token
from service.admin.users import AdminError, LockoutPolicy, LoginFailed
from service.storage import migrate
from service.storage.db import session_factory
from service.storage.models import AuditLog

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    migrate.upgrade(settings)
    with session_factory(settings)() as session:
        yield session


def log(session: Session) -> list[tuple[str, str, str | None, object]]:
    return [(e.action, e.actor, e.target_id, e.after) for e in session.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_an_admin_is_created_signs_in_and_out(session: Session) -> None:
    user = add_admin(session, "Root@Example.org", PASSWORD, actor="cli", now=NOW)
    with pytest.raises(AdminError):
        add_admin(session, "root@example.org", PASSWORD, actor="cli", now=NOW)
    with pytest.raises(LoginFailed):
        log_in(session, "root@example.org", "wrong password entirely", NOW, LockoutPolicy())
    assert log_in(session, "root@example.org", PASSWORD, NOW, LockoutPolicy()).id == user.id
    log_out(session, user.id, actor="root@example.org")
    uid = str(user.id)
    assert log(session) == [("admin.create", "cli", uid, {"email": "root@example.org"}),
                            ("admin.login", "root@example.org", uid, None),
                            ("admin.logout", "root@example.org", uid, None)]
    assert PASSWORD not in repr(log(session)) and user.password_hash not in repr(log(session))


def test_a_token_is_issued_and_revoked_with_its_name_only(session: Session) -> None:
    row, token = issue_api_token(session, "crm-sync", actor="cli", now=NOW)
    assert authenticate_token(session, token, NOW) is not None
    assert revoke_api_token(session, row.id, actor="root@example.org", now=NOW) is row
    assert authenticate_token(session, token, NOW) is None
    assert revoke_api_token(session, 999, actor="root@example.org", now=NOW) is None
    assert log(session) == [("api_token.create", "cli", str(row.id), {"name": "crm-sync"}),
                            ("api_token.revoke", "root@example.org", str(row.id), {"name": "crm-sync"})]
    assert token not in repr(log(session))
