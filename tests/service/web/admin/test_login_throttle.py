"""The admin sign-in throttle cannot be turned against the admin: wrong passwords from one
client never lock out another; spraying many accounts from one client is refused (429); each
lock or throttle is written once to the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.actions.admin import add_admin
from service.storage.db import session_scope
from service.storage.models import AuditLog
from service.web.admin.auth import SESSION_COOKIE
from service.web.admin.login_throttle import CLIENT_ACCOUNTS, LoginThrottle
from service.web.ratelimit import LocalKeyedLimiter, RedisKeyedLimiter
from tests.service.web.admin.conftest import ADMIN_EMAIL, BASE, login

WRONG = "wrong password, sorry"


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def use_clock(app: FastAPI, clock: FakeClock) -> None:
    """Give the app's sign-in throttle an in-process limiter on CLOCK (the tests move time)."""
    sessions = app.state.admin.sessions
    sessions.throttle = replace(sessions.throttle, limiter=LocalKeyedLimiter(clock=clock))


@pytest.fixture
def clock(app: FastAPI) -> FakeClock:
    fake = FakeClock()
    use_clock(app, fake)
    return fake


def client_at(app: FastAPI, host: str) -> TestClient:
    return TestClient(app, base_url=BASE, follow_redirects=False, client=(host, 40000))


@pytest.fixture
def a(app: FastAPI, clock: FakeClock) -> Iterator[TestClient]:
    with client_at(app, "198.51.100.7") as client:
        yield client


@pytest.fixture
def b(app: FastAPI, clock: FakeClock) -> Iterator[TestClient]:
    with client_at(app, "203.0.113.9") as client:
        yield client


def audit_rows(settings: Settings, action: str) -> list[AuditLog]:
    with session_scope(settings) as session:
        rows = list(session.scalars(select(AuditLog).where(AuditLog.action == action)))
        session.expunge_all()
        return rows


def test_five_wrong_passwords_from_a_do_not_lock_b_out(settings: Settings, a: TestClient, b: TestClient) -> None:
    statuses = [login(a, password=WRONG).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    assert login(a).status_code == 429  # A itself must wait, even with the right password
    signed_in = login(b)
    assert signed_in.status_code == 303 and SESSION_COOKIE in signed_in.headers["set-cookie"]
    [locked] = audit_rows(settings, "admin.login_locked")
    assert locked.actor == "client:198.51.100.7"
    assert locked.after == {"client": "198.51.100.7", "retry_after_seconds": 180, "account": ADMIN_EMAIL}
    # Refused attempts while the lock holds add no rows: hammering cannot grow the log.
    for _ in range(5):
        assert login(a, password=WRONG).status_code == 429
    assert len(audit_rows(settings, "admin.login_locked")) == 1


def test_the_budget_refills_one_guess_per_period_over_count(a: TestClient, clock: FakeClock) -> None:
    # 5 failures per 15 minutes, refilled smoothly: one more guess every 3 minutes at most.
    for _ in range(5):
        login(a, password=WRONG)
    clock.now += 2 * 60
    assert login(a).status_code == 429
    clock.now += 61
    assert login(a, password=WRONG).status_code == 429  # the refilled guess, spent: locked again
    clock.now += 60
    assert login(a).status_code == 429
    clock.now += 3 * 60
    assert login(a).status_code == 303


def test_password_spraying_over_eight_accounts_is_throttled(settings: Settings, a: TestClient,
                                                            b: TestClient) -> None:
    accounts = [f"admin{n}@example.org" for n in range(8)]
    with session_scope(settings) as session:
        for email in accounts:
            add_admin(session, email, "a long enough password", actor="tests", now=datetime.now(UTC))
    statuses = [login(a, email=email, password="Winter2026!").status_code for email in accounts]
    assert statuses == [401] * CLIENT_ACCOUNTS + [429] * (8 - CLIENT_ACCOUNTS)
    refused = login(a, email=accounts[-1], password="Winter2026!")
    assert refused.status_code == 429 and "Too many failed sign-ins from your address" in refused.text
    # The throttle is the client's: another client still signs in to any of those accounts.
    assert login(b, email=accounts[-1], password="a long enough password").status_code == 303
    [throttled] = audit_rows(settings, "admin.login_throttled")
    assert throttled.actor == "client:198.51.100.7" and throttled.after["client"] == "198.51.100.7"


def test_a_refused_attempt_costs_no_password_check(app: FastAPI, a: TestClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(5):
        login(a, password=WRONG)
    checked: list[str] = []
    monkeypatch.setattr("service.admin.users._verify", lambda stored, password: checked.append(password) or False)
    assert login(a).status_code == 429 and checked == []


def test_unknown_addresses_are_throttled_but_never_written_down(settings: Settings, a: TestClient) -> None:
    typed = [f"{n} my-secret-password" for n in range(CLIENT_ACCOUNTS)]
    for text in typed:
        assert login(a, email=text, password=WRONG).status_code == 401
    [row] = audit_rows(settings, "admin.login_throttled")
    assert row.target_id is None and "account" not in row.after
    assert not any(text in str(row.after) for text in typed)


def test_budgets_come_from_the_settings(settings: Settings) -> None:
    throttle = LoginThrottle.from_settings(settings.model_copy(update={"admin_max_failed_logins": 3,
                                                                        "admin_lockout_minutes": 10}))
    assert (throttle.account_client.count, throttle.account_client.period_seconds) == (3, 600)
    assert (throttle.client_accounts.count, throttle.client_accounts.period_seconds) == (CLIENT_ACCOUNTS, 600)


@pytest.mark.integration
def test_the_throttle_is_shared_through_redis(settings: Settings, redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.keys("papermail-login-test:*"):
        client.delete(key)
    limiter = RedisKeyedLimiter(client, prefix="papermail-login-test")
    # Two web processes: two throttles, one Redis.
    first, second = (LoginThrottle.from_settings(settings, limiter=limiter) for _ in range(2))
    for _ in range(4):
        assert first.failed(ADMIN_EMAIL, "198.51.100.7") == []
    [started] = second.failed(ADMIN_EMAIL, "198.51.100.7")
    assert started.scope == "account" and 170 < started.retry_after <= 180
    refusal = first.check(ADMIN_EMAIL.upper(), "198.51.100.7")
    assert refusal is not None and refusal.scope == "account"
    assert second.check(ADMIN_EMAIL, "203.0.113.9") is None
