"""`papermail admin create-user | list-users | disable-user | enable-user | set-password |
reset-link | create-token | list-tokens | revoke-token` in a real process."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from config.settings import Settings
from service.admin.api_tokens import authenticate_token
from service.storage.db import session_scope
from service.storage.models import AdminUser, AuditLog
from tests.support.cli import run_cli
from tests.support.processes import settings_env

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"


def test_create_user_from_stdin(settings: Settings) -> None:
    result = run_cli(settings, "admin", "create-user", "Root@Example.org", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "admin root@example.org created (owner)"
    with session_scope(settings) as session:
        user = session.query(AdminUser).one()
        assert user.password_hash.startswith("$argon2id$")
        assert session.query(AuditLog).filter_by(action="admin.create").one().actor == "cli"


def prompt_cli(settings: Settings, stdin: str) -> subprocess.CompletedProcess[str]:
    # A new session has no controlling terminal, so getpass reads the typed lines from stdin.
    return subprocess.run([sys.executable, "-m", "service.cli", "admin", "create-user", "ops@example.org"],
                          env=settings_env(settings), cwd=settings.data_dir.parent, input=stdin,
                          capture_output=True, text=True, timeout=60, start_new_session=True)


def test_create_user_prompts_twice(settings: Settings) -> None:
    result = prompt_cli(settings, f"{PASSWORD}\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert "admin ops@example.org created" in result.stdout
    mismatch = prompt_cli(settings, f"{PASSWORD}\nsomething else entirely\n")
    assert mismatch.returncode != 0
    assert "do not match" in mismatch.stderr + mismatch.stdout
    with session_scope(settings) as session:
        assert session.query(AdminUser).count() == 1


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["admin", "create-user", "x@example.org", "--password-stdin"], "short\n", "at least 12 characters"),
    (["admin", "create-user", "not-an-address", "--password-stdin"], PASSWORD + "\n", "not a valid address"),
    (["admin", "create-user", "x@example.org", "--password-stdin"], "", "no password"),
    (["admin", "revoke-token", "42"], None, "no API token 42"),
])
def test_bad_input_is_one_line_and_exit_2(settings: Settings, args: list[str], stdin: str | None, message: str) -> None:
    result = run_cli(settings, *args, stdin=stdin)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_duplicate_admin_is_refused_with_what_to_do_instead(settings: Settings) -> None:
    run_cli(settings, "admin", "create-user", "a@example.org", "--password-stdin", stdin=PASSWORD)
    again = run_cli(settings, "admin", "create-user", "A@example.org", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 2 and "exists already" in again.stderr
    assert "papermail admin set-password a@example.org" in again.stderr and len(again.stderr.strip().splitlines()) == 1


def test_list_disable_enable_and_set_password(settings: Settings) -> None:
    assert run_cli(settings, "admin", "create-user", "root@example.org", "--password-stdin", stdin=PASSWORD
                   ).returncode == 0
    viewer = run_cli(settings, "admin", "create-user", "ann@example.org", "--role", "viewer", "--password-stdin",
                     stdin=PASSWORD)
    assert viewer.stdout.strip() == "admin ann@example.org created (viewer)"
    listed = run_cli(settings, "admin", "list-users").stdout.splitlines()
    assert [line.split("\t")[1:4] for line in listed] == [["ann@example.org", "viewer", "active"],
                                                          ["root@example.org", "owner", "active"]]
    last_owner = run_cli(settings, "admin", "disable-user", "root@example.org")
    assert last_owner.returncode == 2 and "last active owner" in last_owner.stderr
    assert run_cli(settings, "admin", "disable-user", "ANN@example.org").stdout.strip() == "admin ann@example.org disabled"
    assert "disabled" in run_cli(settings, "admin", "list-users").stdout.splitlines()[0]
    assert run_cli(settings, "admin", "enable-user", "ann@example.org").returncode == 0
    again = run_cli(settings, "admin", "create-user", "ann@example.org", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 2

    changed = run_cli(settings, "admin", "set-password", "ann@example.org", "--password-stdin",
                      stdin="another long password\n")
    assert changed.returncode == 0 and changed.stdout.strip() == "password of ann@example.org set"
    with session_scope(settings) as session:
        assert session.query(AuditLog).filter_by(action="admin.password", actor="cli").count() == 1
    unknown = run_cli(settings, "admin", "set-password", "nobody@example.org", "--password-stdin", stdin=PASSWORD)
    assert unknown.returncode == 2 and "no admin nobody@example.org" in unknown.stderr
    short = run_cli(settings, "admin", "set-password", "ann@example.org", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 12" in short.stderr


def test_reset_link_is_printed_once_per_call(settings: Settings) -> None:
    run_cli(settings, "admin", "create-user", "root@example.org", "--password-stdin", stdin=PASSWORD)
    result = run_cli(settings, "admin", "reset-link", "root@example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(f"{settings.base_url}/admin/reset/") and "once" in result.stderr
    with session_scope(settings) as session:
        assert session.query(AuditLog).filter_by(action="admin.reset_link").count() == 1
        assert result.stdout.strip().rsplit("/", 1)[1] not in repr([(e.before, e.after) for e in
                                                                   session.query(AuditLog)])


def test_token_is_printed_once_listed_and_revoked(settings: Settings) -> None:
    created = run_cli(settings, "admin", "create-token", "crm sync")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("pm_") and "not stored" in created.stderr
    with session_scope(settings) as session:
        assert authenticate_token(session, token, datetime.now(UTC)) is not None
    listed = run_cli(settings, "admin", "list-tokens")
    assert "crm sync\towner" in listed.stdout and "live" in listed.stdout and token not in listed.stdout
    viewer = run_cli(settings, "admin", "create-token", "grafana", "--role", "viewer")
    assert viewer.returncode == 0 and "viewer" in viewer.stderr
    assert run_cli(settings, "admin", "create-token", "x", "--role", "god").returncode == 2
    token_id = listed.stdout.split("\t")[0]
    assert run_cli(settings, "admin", "revoke-token", token_id).returncode == 0
    with session_scope(settings) as session:
        assert authenticate_token(session, token, datetime.now(UTC)) is None
    assert "revoked" in run_cli(settings, "admin", "list-tokens").stdout
