"""Who gets in: every /admin route refuses anonymous callers, expired or forged sessions, and
POSTs without a CSRF token; login locks out after repeated failures; logout ends the session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import fastapi.routing
import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient

from config.settings import Settings
from service.admin.users import set_password
from service.storage.db import session_scope
from service.storage.models import AdminUser, AuditLog
from service.web.admin.auth import SESSION_COOKIE, AdminRoute
from tests.service.web.admin.conftest import ADMIN_EMAIL, csrf_of, login, post
from tests.service.web.admin.test_login_throttle import FakeClock, use_clock

# The pages one reaches without a session: signing in, and a password reset link's page.
OPEN = {("/admin/login", "GET"), ("/admin/login", "POST"), ("/admin/reset/{token}", "GET"),
        ("/admin/reset/{token}", "POST")}
FILL = {"subscriber_id": "1", "slug": "llm", "name": "hf-daily", "delivery_id": "1", "token_id": "1", "user_id": "1",
        "token": "x"}


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(path with its parameters filled, method) of every admin page and action."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    found = []
    for entry in (iterate(app.routes) if iterate is not None else app.routes):
        route = getattr(entry, "route", entry)
        path = getattr(entry, "path", "")
        if isinstance(route, fastapi.routing.APIRoute) and path.startswith("/admin"):
            assert isinstance(route, AdminRoute), f"{path} is not guarded by AdminRoute"
            filled = re.sub(r"\{(\w+)\}", lambda m: FILL[m.group(1)], path)
            found += [(filled, method) for method in sorted(route.methods) if (path, method) not in OPEN]
    return found


def refused(response: object) -> bool:
    status = response.status_code  # type: ignore[attr-defined]
    location = response.headers.get("location", "")  # type: ignore[attr-defined]
    return status in (401, 403) or (status == 303 and location.startswith("/admin/login"))


def test_every_admin_route_is_walked(app: FastAPI) -> None:
    routes = admin_routes(app)
    assert len(routes) >= 35  # every page and action of issue 7, not a handful
    assert ("/admin/subscribers/1/erase", "POST") in routes and ("/admin/tokens", "GET") in routes


def test_anonymous_callers_are_sent_to_login_everywhere(app: FastAPI, anonymous: TestClient) -> None:
    token = csrf_of(anonymous.get("/admin/login").text)  # a valid CSRF token does not stand in for a session
    for path, method in admin_routes(app):
        response = anonymous.request(method, path, data={"csrf_token": token} if method == "POST" else None)
        assert refused(response), f"{method} {path} answered {response.status_code}"
    assert anonymous.get("/admin/subscribers?q=x").headers["location"] == "/admin/login?next=%2Fadmin%2Fsubscribers%3Fq%3Dx"


def test_expired_sessions_are_refused_everywhere(app: FastAPI, admin: TestClient) -> None:
    assert admin.get("/admin/subscribers").status_code == 200
    token = csrf_of(admin.get("/admin").text)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=13)):
        for path, method in admin_routes(app):
            response = admin.request(method, path, data={"csrf_token": token} if method == "POST" else None)
            assert refused(response), f"{method} {path} answered {response.status_code} to an expired session"


def test_forged_and_stale_cookies_are_refused(settings: Settings, admin: TestClient) -> None:
    cookie = admin.cookies.get(SESSION_COOKIE)
    assert cookie
    admin.cookies.set(SESSION_COOKIE, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"), path="/admin")
    assert refused(admin.get("/admin"))
    admin.cookies.set(SESSION_COOKIE, cookie, path="/admin")
    assert admin.get("/admin").status_code == 200
    with session_scope(settings) as session:  # a new password ends every session made with the old one
        user = session.query(AdminUser).one()
        set_password(user, "another long password 42")
    assert refused(admin.get("/admin"))


def test_posts_without_a_valid_csrf_token_are_refused(app: FastAPI, admin: TestClient) -> None:
    for path, method in admin_routes(app):
        if method != "POST":
            continue
        assert admin.post(path, data={}).status_code == 403, path
        assert admin.post(path, data={"csrf_token": "forged"}).status_code == 403, path
    assert admin.post("/admin/logout", json={"x": 1}).status_code == 403  # not a form at all
    assert admin.get("/admin").status_code == 200  # still signed in: nothing happened


def test_login_sets_a_hardened_cookie_and_audits(settings: Settings, anonymous: TestClient) -> None:
    response = login(anonymous)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"].lower()
    assert SESSION_COOKIE in cookie and "httponly" in cookie and "samesite=lax" in cookie and "path=/admin" in cookie
    assert "max-age=43200" in cookie
    with session_scope(settings) as session:
        assert session.query(AuditLog).filter_by(action="admin.login", actor=ADMIN_EMAIL).count() == 1


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(anonymous: TestClient) -> None:
    token = csrf_of(anonymous.get("/admin/login?next=/admin/topics").text)
    data = {"csrf_token": token, "email": ADMIN_EMAIL, "password": "correct horse battery staple"}
    assert anonymous.post("/admin/login", data={**data, "next": "/admin/topics"}).headers["location"] == "/admin/topics"
    assert anonymous.post("/admin/login", data={**data, "next": "https://evil.example/"}).headers["location"] == "/admin"
    assert anonymous.post("/admin/login", data={**data, "next": "/admin//evil.example"}).headers["location"] == "/admin"


def test_repeated_failures_lock_the_account_for_that_client(app: FastAPI, anonymous: TestClient) -> None:
    clock = FakeClock()
    use_clock(app, clock)
    for _ in range(4):
        response = login(anonymous, password="wrong password, sorry")
        assert response.status_code == 401 and "Wrong address or password" in response.text
    locked = login(anonymous, password="wrong password, sorry")
    assert locked.status_code == 429 and "locked" in locked.text and int(locked.headers["retry-after"]) > 0
    # The right password does not help this client while the lock holds...
    assert login(anonymous).status_code == 429
    assert SESSION_COOKIE not in anonymous.cookies
    # ...and works once it is over.
    clock.now += 16 * 60
    assert login(anonymous).status_code == 303


def test_unknown_address_fails_like_a_wrong_password(anonymous: TestClient) -> None:
    response = login(anonymous, email="nobody@example.org")
    assert response.status_code == 401 and "Wrong address or password" in response.text


def test_logout_ends_the_session(settings: Settings, admin: TestClient) -> None:
    response = post(admin, "/admin/logout")
    assert response.status_code == 303 and response.headers["location"] == "/admin/login?done=logged-out"
    assert refused(admin.get("/admin"))
    assert "You are signed out" in admin.get("/admin/login?done=logged-out").text
    with session_scope(settings) as session:
        assert session.query(AuditLog).filter_by(action="admin.logout").count() == 1


@pytest.mark.parametrize("path", ["/admin", "/admin/subscribers", "/admin/login"])
def test_admin_pages_carry_the_security_headers(admin: TestClient, path: str) -> None:
    response = admin.get(path)
    assert response.status_code in (200, 303)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
