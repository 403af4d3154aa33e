"""CSRF tokens (signed double-submit) and the security headers every page gets."""

from __future__ import annotations

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from starlette.requests import Request

from config.settings import Settings
from service.web.security import CSRF_COOKIE, Csrf, CsrfError, SecurityHeaders


def request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{CSRF_COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""})


def test_token_binds_form_and_cookie(settings: Settings) -> None:
    csrf = Csrf.from_settings(settings)
    browser = request_with(None)
    token = csrf.token(browser, "subscribe")
    cookie = browser.state.csrf_seed
    csrf.verify(request_with(cookie), "subscribe", token)
    with pytest.raises(CsrfError, match="another form"):
        csrf.verify(request_with(cookie), "unsubscribe", token)
    with pytest.raises(CsrfError, match="does not match"):
        csrf.verify(request_with("x" * 32), "subscribe", token)
    with pytest.raises(CsrfError, match="missing"):
        csrf.verify(request_with(cookie), "subscribe", None)
    with pytest.raises(CsrfError, match="cookie"):
        csrf.verify(request_with(None), "subscribe", token)
    other_key = Csrf.from_settings(settings.model_copy(update={"secret_key": "k" * 40}))
    with pytest.raises(CsrfError, match="not valid"):
        other_key.verify(request_with(cookie), "subscribe", token)


def test_token_expires(settings: Settings) -> None:
    csrf = Csrf.from_settings(settings)
    browser = request_with(None)
    with time_machine.travel("2026-01-01T00:00:00Z", tick=False):
        token = csrf.token(browser, "f")
    with time_machine.travel("2026-01-02T00:00:01Z", tick=False), pytest.raises(CsrfError, match="too old"):
        csrf.verify(request_with(browser.state.csrf_seed), "f", token)


def test_headers_on_every_response_but_docs_keep_their_scripts() -> None:
    app = FastAPI()
    app.add_middleware(SecurityHeaders)

    @app.get("/page")
    def page() -> PlainTextResponse:
        return PlainTextResponse("hi", headers={"referrer-policy": "same-origin"})

    client = TestClient(app)
    page_headers = client.get("/page").headers
    assert "script-src 'self'" in page_headers["content-security-policy"]
    assert page_headers["x-frame-options"] == "DENY" and page_headers["x-content-type-options"] == "nosniff"
    assert page_headers["referrer-policy"] == "same-origin"  # a route's own value wins
    assert client.get("/missing").headers["x-content-type-options"] == "nosniff"
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"
