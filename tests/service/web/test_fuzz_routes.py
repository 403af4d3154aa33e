"""Every route in the app's route table, fuzzed: hostile path parameters (NUL, huge and negative
numbers, over-long text, odd Unicode), query strings and form or JSON bodies. Public pages as a
visitor, /admin as a signed-in admin (with the page's CSRF token, so the forms get past it),
/api with a valid token. None may answer 5xx, on SQLite or on PostgreSQL (which refuses NUL in
text and 64-bit overflows). Bounded: a few examples per route (FUZZ_ROUTE_EXAMPLES for more).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.admin.users import create_admin
from service.storage import migrate
from service.storage.db import dispose_engines, session_scope
from service.web.app import create_app
from tests.conftest import make_settings
from tests.service.web.admin.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_of, login
from tests.service.web.api.conftest import new_token
from tests.support.services import create_pg_database, drop_pg_database

pytestmark = pytest.mark.integration  # the PostgreSQL half
EXAMPLES = int(os.environ.get("FUZZ_ROUTE_EXAMPLES", "5"))
BASE = "http://papermail.test"
# Ending the session would leave the rest of the run signed out.
SKIPPED = {("POST", "/admin/logout")}

NASTY = [
    "\x00", "a\x00b", "%00", "0", "-1", "1", "2147483648", "9223372036854775808", "99999999999999999999999",
    "1e309", "NaN", "x" * 5000, "../../etc/passwd", "☃", "\ud7ff\ue000", "\u202e", " ", "", "null", "[]", "{}",
    "2611.00001", "2026-13-45", "2026-W99", "9999-12", "'; DROP TABLE subscribers; --", "<script>", "%ff",
]
text = st.one_of(st.sampled_from(NASTY), st.text(max_size=30), st.integers(-(2**70), 2**70).map(str))
FIELDS = ["q", "email", "name", "slug", "status", "topics", "keywords", "exclude", "authors", "page", "sort",
          "date", "week", "month", "topic", "ids", "id", "url", "kind", "role", "password", "frequency",
          "timezone", "send_hour", "max_papers", "min_upvotes", "return_to", "action", "value", "format",
          "delivery_id", "subscriber_id", "description", "categories", "poll_interval_minutes", "enabled",
          "confirm", "limit", "before", "after", "cursor", "like", "paper", "vote", "token", "reason"]
fields = st.dictionaries(st.sampled_from(FIELDS), text, max_size=6)
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), text),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner,
                                                                                        max_size=3), max_leaves=8)
json_bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route with methods (mounts and static files have none)."""
    found = set()
    for route in fastapi.routing.iter_route_contexts(app.routes):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        for method in methods or ():
            if isinstance(path, str) and method not in ("HEAD", "OPTIONS") and (method, path) not in SKIPPED:
                found.add((method, path))
    return sorted(found)


def fill(template: str, values: list[str]) -> str:
    """TEMPLATE with each {param} (or {param:path}) replaced by the next of VALUES, URL-quoted."""
    supply = iter(values)

    def one(match: re.Match[str]) -> str:
        return quote(next(supply, "1"), safe="/" if match.group(0).endswith(":path}") else "")

    return re.sub(r"\{[^}]+\}", one, template)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    data_dir = Path(tmp_path_factory.mktemp("fuzz-routes")) / "var"
    name = f"papermail_fuzzr_{os.getpid()}_{secrets.token_hex(3)}"
    overrides: dict[str, object] = {"web_rate_limit_scale": 1000}
    if request.param == "postgresql":
        request.getfixturevalue("pg_server")
        overrides["database_url"] = create_pg_database(name)
    app_settings = make_settings(data_dir, **overrides)
    migrate.upgrade(app_settings)
    with session_scope(app_settings) as session:
        create_admin(session, ADMIN_EMAIL, ADMIN_PASSWORD, datetime.now(UTC))
    token = new_token(app_settings, "fuzz")[1]
    yield create_app(app_settings), token
    if request.param == "postgresql":
        dispose_engines()
        drop_pg_database(name)


def test_the_route_table_is_covered(world: tuple[FastAPI, str]) -> None:
    paths = {path for _, path in routes(world[0])}
    assert {"/", "/admin/subscribers", "/admin/topics/{slug}", "/admin/sources/{name}", "/api/v1/topics/{slug}"} <= paths
    assert len(paths) >= 60


@pytest.mark.parametrize("area", ["public", "admin", "api"])
def test_no_route_answers_5xx_to_hostile_input(world: tuple[FastAPI, str], area: str) -> None:
    app, token = world
    prefix = {"admin": "/admin", "api": "/api"}.get(area)
    mine = [(m, p) for m, p in routes(app)
            if (p.startswith(prefix) if prefix else not p.startswith(("/admin", "/api")))]
    assert mine
    failures: list[str] = []
    with TestClient(app, base_url=BASE, follow_redirects=False, raise_server_exceptions=False) as client:
        if area == "api":
            client.headers["Authorization"] = f"Bearer {token}"
        for method, template in mine:
            if area == "admin" and client.get("/admin").status_code != 200:
                assert login(client).status_code == 303
            csrf = csrf_of(client.get("/admin").text) if area == "admin" else ""

            @given(path_values=st.lists(text, min_size=3, max_size=3), query=fields, body=fields, payload=json_bodies)
            @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(path_values: list[str], query: dict[str, str], body: dict[str, str],
                    payload: dict[str, object]) -> None:
                url = fill(template, path_values)
                if method == "GET" or method == "DELETE":
                    response = client.request(method, url, params=query)
                elif area == "api":
                    response = client.request(method, url, params=query, json=payload)
                else:
                    response = client.request(method, url, params=query, data={"csrf_token": csrf, **body})
                if response.status_code >= 500:
                    failures.append(f"{method} {url} {query} -> {response.status_code}: {response.text[:200]}")

            run()
    assert failures == []


@pytest.mark.parametrize("url", ["/admin/subscribers?q=%00", "/admin/sources/%00", "/admin/topics/%00",
                                 "/?q=%00", "/papers/%00"])
def test_the_nul_bytes_of_the_report_get_400(world: tuple[FastAPI, str], url: str) -> None:
    app, _ = world
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        assert login(client).status_code == 303
        assert client.get(url).status_code == 400
