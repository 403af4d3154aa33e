"""The input guard at the edge: NUL characters and absurd lengths get a 4xx before any route runs,
in the API's error shape under /api; every other request passes through untouched."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from service.web.guards import MAX_PATH_CHARS, MAX_QUERY_BYTES, InputGuard, body_problem, url_problem


def test_url_problems() -> None:
    assert url_problem("/admin/topics/ok", b"q=fine") is None
    assert url_problem("/admin/topics/\x00", b"") == (400, "the request contains a NUL character")
    assert url_problem("/", b"q=%00")[0] == 400  # type: ignore[index]
    assert url_problem("/", b"q=a%2500b") is None  # an escaped "%00" is text, not NUL
    assert url_problem("/" + "a" * MAX_PATH_CHARS, b"")[0] == 414  # type: ignore[index]
    assert url_problem("/", b"q=" + b"a" * MAX_QUERY_BYTES)[0] == 414  # type: ignore[index]


@pytest.mark.parametrize(("content_type", "body", "refused"), [
    ("application/x-www-form-urlencoded", b"email=a%00b", True),
    ("application/x-www-form-urlencoded", b"email=a%2500b", False),
    ("application/x-www-form-urlencoded", b"email=a\x00b", True),
    ("application/json", b'{"email": "a\\u0000b"}', True),
    ("application/json", b'{"email": "a\\\\u0000b"}', False),  # the text \u0000, escaped
    ("application/json", b'{"email": "a\\\\\\u0000b"}', True),
    ("application/merge-patch+json", b'{"name": "\\u0000"}', True),
    ("application/json", b'{"email": "a@example.org"}', False),
])
def test_body_problems(content_type: str, body: bytes, refused: bool) -> None:
    assert (body_problem(content_type, body) is not None) is refused


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()

    @app.post("/form")
    async def form(request: Request) -> dict[str, str]:
        return {k: str(v) for k, v in (await request.form()).items()}

    @app.post("/api/v1/echo")
    async def echo(request: Request) -> object:
        return await request.json()

    @app.get("/{anything:path}")
    async def anything(anything: str) -> dict[str, str]:
        return {"path": anything}

    app.add_middleware(InputGuard)
    return TestClient(app)


def test_clean_requests_pass_with_their_bodies(client: TestClient) -> None:
    assert client.post("/form", data={"email": "a@example.org", "note": "x" * 100_000}).json()["email"] == "a@example.org"
    assert client.post("/api/v1/echo", json={"a": [1, "b"]}).json() == {"a": [1, "b"]}
    assert client.get("/papers/2611.00001", params={"q": "☃"}).json() == {"path": "papers/2611.00001"}


def test_nul_is_400_in_text_and_in_the_api_shape(client: TestClient) -> None:
    page = client.get("/admin/sources/%00")
    assert page.status_code == 400 and page.text.startswith("Bad request")
    assert client.post("/form", data={"email": "a\x00b"}).status_code == 400
    api = client.post("/api/v1/echo", content=b'{"a": "\\u0000"}', headers={"content-type": "application/json"})
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "bad_request"


def test_over_long_is_414_and_a_huge_form_413(client: TestClient) -> None:
    assert client.get("/" + "a" * (MAX_PATH_CHARS + 1)).status_code == 414
    assert client.get("/", params={"q": "a" * MAX_QUERY_BYTES}).status_code == 414
    huge = b"a=" + b"b" * (5 * 1024 * 1024)
    response = client.post("/form", content=huge, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
