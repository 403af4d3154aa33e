"""Roles grant permissions; a password reset link works once, for its admin, for a day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from itsdangerous import URLSafeTimedSerializer

from service.admin.password_reset import SALT, read_reset_token, reset_target, reset_token, reset_url
from service.admin.roles import RoleError, check_role, may, method_permission
from service.admin.users import hash_password, set_password
from service.storage.models import AdminUser

SECRET = "a-test-secret-that-is-long-enough-123"


def test_owner_may_everything_viewer_only_reads() -> None:
    assert all(may("owner", p) for p in ("read", "change", "export"))
    assert may("viewer", "read") and not may("viewer", "change") and not may("viewer", "export")
    assert not may("root", "read")  # an unknown role grants nothing
    assert [method_permission(m) for m in ("GET", "head", "POST", "DELETE", "PATCH")] == [
        "read", "read", "change", "change", "change"]
    assert check_role("viewer") == "viewer"
    with pytest.raises(RoleError):
        check_role("admin")


def user(user_id: int = 7, active: bool = True) -> AdminUser:
    return AdminUser(id=user_id, email="ann@example.org", password_hash=hash_password("the first password"),
                     is_active=active)


def test_a_reset_link_is_for_its_admin_and_works_once() -> None:
    ann = user()
    claim = read_reset_token(SECRET, reset_token(SECRET, ann))
    assert claim is not None and reset_target(ann, claim) is ann
    assert reset_url("https://mail.example.org/", SECRET, ann).startswith("https://mail.example.org/admin/reset/")
    set_password(ann, "the second password")  # what the link's page does: the link is spent
    assert reset_target(ann, claim) is None
    assert reset_target(user(8), claim) is None  # another admin
    assert read_reset_token("another-secret-entirely-0123456789", reset_token(SECRET, ann)) is None
    assert read_reset_token(SECRET, "garbage") is None and read_reset_token(SECRET, "") is None


def test_a_disabled_admins_link_does_not_work() -> None:
    ann = user(active=False)
    claim = read_reset_token(SECRET, reset_token(SECRET, ann))
    assert claim is not None and reset_target(ann, claim) is None


def test_a_link_expires_after_a_day() -> None:
    ann = user()
    with time_machine.travel(datetime(2026, 11, 27, 9, tzinfo=UTC), tick=False):
        token = reset_token(SECRET, ann)
    with time_machine.travel(datetime(2026, 11, 28, 8, tzinfo=UTC), tick=False):
        assert read_reset_token(SECRET, token) is not None
    with time_machine.travel(datetime(2026, 11, 28, 10, tzinfo=UTC), tick=False):
        assert read_reset_token(SECRET, token) is None
    forged = URLSafeTimedSerializer(SECRET, salt=SALT).dumps({"u": "7", "p": 1})
    assert read_reset_token(SECRET, forged) is None
