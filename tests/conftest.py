"""Shared fixtures. Integration fixtures skip where a service is absent, except under CI=true."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from tests.support.dkim import DkimKey, make_dkim_key
from tests.support.services import (
    PG_ADMIN_URL,
    REDIS_HOST_PORT,
    create_pg_database,
    drop_pg_database,
    pg_available,
    redis_available,
)
from tests.support.smtp_sink import SmtpSink

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET = "test-secret-key-not-for-production-0123456789"
# Redis db numbers a test run may take for itself (each pytest process holds one, flushed
# before and after each test): two runs on one machine never flush each other's queues.
REDIS_TEST_DBS = range(4, 16)


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI a missing dependency is a failure, never a silent skip."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _no_papermail_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their own Settings: a developer's PAPERMAIL_* variables must not leak in."""
    for name in list(os.environ):
        if name.startswith("PAPERMAIL_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _empty_memory_outbox() -> Iterator[None]:
    """The memory mail backend is process-wide: every test starts and ends with it empty."""
    from service.mail import clear_memory_outbox

    clear_memory_outbox()
    yield
    clear_memory_outbox()


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """../shared/fixtures beside the clone (recorded feeds, feedparser's corpus)."""
    path = SHARED_DIR / "fixtures"
    if not path.is_dir():
        skip_or_fail(f"shared fixtures not found at {path}")
    return path


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "environment": "test",
        "secret_key": TEST_SECRET,
        "mail_backend": "memory",
        "base_url": "http://papermail.test",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded-default settings in a fresh DATA_DIR (SQLite, filesystem broker, memory mail)."""
    return make_settings(tmp_path / "var")


@pytest.fixture(scope="session")
def pg_server() -> str:
    if not pg_available():
        skip_or_fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    return PG_ADMIN_URL


@pytest.fixture(scope="session")
def pg_database_url(pg_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    name = f"papermail_test_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_pg_database(name)
    yield url
    drop_pg_database(name)


@pytest.fixture
def fresh_pg_database_url(pg_server: str) -> Iterator[str]:
    """A database of its own for a test that must start empty (migrations)."""
    name = f"papermail_t_{os.getpid()}_{secrets.token_hex(4)}"
    url = create_pg_database(name)
    yield url
    drop_pg_database(name)


@pytest.fixture(scope="session")
def redis_server() -> str:
    if not redis_available():
        skip_or_fail(f"Redis is not reachable at {REDIS_HOST_PORT}")
    return f"redis://{REDIS_HOST_PORT}"


@pytest.fixture(scope="session")
def redis_test_db(redis_server: str) -> Iterator[int]:
    """A db number claimed for this process in db 0 (SET NX with an expiry, so a killed run
    frees its number within the hour)."""
    import redis

    claims = redis.Redis.from_url(f"{redis_server}/0")
    for number in REDIS_TEST_DBS:
        key = f"papermail:test-db:{number}"
        if claims.set(key, os.getpid(), nx=True, ex=3600):
            break
    else:
        skip_or_fail(f"every Redis test db {REDIS_TEST_DBS.start}-{REDIS_TEST_DBS.stop - 1} is taken by another run")
    yield number
    claims.delete(key)
    claims.close()


@pytest.fixture
def redis_url(redis_server: str, redis_test_db: int) -> Iterator[str]:
    import redis

    url = f"{redis_server}/{redis_test_db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on each database in turn, schema at head."""
    from service.storage import migrate

    if request.param == "sqlite":
        settings = make_settings(tmp_path / "var")
    else:
        url = request.getfixturevalue("fresh_pg_database_url")
        settings = make_settings(tmp_path / "var", database_url=url)
    migrate.upgrade(settings)
    return settings


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on an ephemeral loopback port, keeping every message."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> DkimKey:
    """A fresh DKIM key pair for this test session."""
    return make_dkim_key(tmp_path_factory.mktemp("dkim"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium under Playwright (installed by `make test`). Per module, not per session:
    Playwright's sync API keeps an asyncio loop running in the main thread while it is open,
    which would break every later test that starts an event loop of its own."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import ARGS, CHROMIUM

    if not os.path.exists(CHROMIUM):
        skip_or_fail(f"{CHROMIUM} is not installed (python -m tests.browser_setup installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
