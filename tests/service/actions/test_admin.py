"""Admin accounts, sign-ins and API tokens: each leaves one audit row, never a secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.admin import (
    LastOwner,
    add_admin,
    change_admin_password,
    change_admin_role,
    issue_api_token,
    log_in,
    log_out,
    revoke_api_token,
    set_admin_active,
)
from service.admin.api_tokens import TokenError, authenticate_token
from service.admin.users import AdminError, AdminExists, LoginFailed
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
        log_in(session, "root@example.org", "wrong password entirely", NOW)
    assert log_in(session, "root@example.org", PASSWORD, NOW).id == user.id
    log_out(session, user.id, actor="root@example.org")
    uid = str(user.id)
    assert log(session) == [("admin.create", "cli", uid, {"email": "root@example.org", "role": "owner",
                                                          "is_active": True}),
                            ("admin.login", "root@example.org", uid, None),
                            ("admin.logout", "root@example.org", uid, None)]
    assert PASSWORD not in repr(log(session)) and user.password_hash not in repr(log(session))


def test_a_token_is_issued_and_revoked_with_its_name_only(session: Session) -> None:
    row, token = issue_api_token(session, "crm-sync", actor="cli", now=NOW)
    assert authenticate_token(session, token, NOW) is not None
    assert revoke_api_token(session, row.id, actor="root@example.org", now=NOW) is row
    assert authenticate_token(session, token, NOW) is None
    assert revoke_api_token(session, 999, actor="root@example.org", now=NOW) is None
    assert log(session) == [("api_token.create", "cli", str(row.id), {"name": "crm-sync", "role": "owner"}),
                            ("api_token.revoke", "root@example.org", str(row.id), {"name": "crm-sync"})]
    assert token not in repr(log(session))


def test_roles_and_the_last_owner(session: Session) -> None:
    root = add_admin(session, "root@example.org", PASSWORD, actor="cli", now=NOW)
    with pytest.raises(AdminExists) as taken:
        add_admin(session, "ROOT@example.org", PASSWORD, actor="cli", now=NOW, role="viewer")
    assert (taken.value.user_id, taken.value.email) == (root.id, "root@example.org")
    with pytest.raises(AdminError):
        add_admin(session, "x@example.org", PASSWORD, actor="cli", now=NOW, role="superuser")
    viewer = add_admin(session, "ann@example.org", PASSWORD, actor="cli", now=NOW, role="viewer")
    # The only owner can be neither demoted nor disabled: someone must be able to change things.
    with pytest.raises(LastOwner):
        change_admin_role(session, root, "viewer", actor="cli")
    with pytest.raises(LastOwner):
        set_admin_active(session, root, False, actor="cli")
    assert change_admin_role(session, viewer, "owner", actor="root@example.org")
    assert not change_admin_role(session, viewer, "owner", actor="root@example.org")
    assert set_admin_active(session, root, False, actor="ann@example.org")
    assert not set_admin_active(session, root, False, actor="ann@example.org")
    with pytest.raises(LoginFailed):
        log_in(session, "root@example.org", PASSWORD, NOW)
    assert set_admin_active(session, root, True, actor="ann@example.org")
    changes = [(a, after) for a, _, _, after in log(session) if a in ("admin.role", "admin.disable", "admin.enable")]
    assert changes == [("admin.role", {"role": "owner"}), ("admin.disable", {"is_active": False}),
                       ("admin.enable", {"is_active": True})]


def test_a_new_password_is_checked_logged_and_never_shown(session: Session) -> None:
    user = add_admin(session, "root@example.org", PASSWORD, actor="cli", now=NOW)
    with pytest.raises(AdminError):
        change_admin_password(session, user, "short", actor="cli")
    change_admin_password(session, user, "a brand new long password", actor="cli")
    assert log_in(session, "root@example.org", "a brand new long password", NOW).id == user.id
    assert ("admin.password", "cli", str(user.id), None) in log(session)
    assert "brand new" not in repr(log(session))


def test_tokens_have_a_role(session: Session) -> None:
    row, _ = issue_api_token(session, "dashboards", actor="cli", now=NOW, role="viewer")
    assert row.role == "viewer"
    with pytest.raises(TokenError):
        issue_api_token(session, "x", actor="cli", now=NOW, role="admin")
