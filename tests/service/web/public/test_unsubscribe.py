"""/unsubscribe/{token}: GET changes nothing, the button POST needs CSRF, the RFC 8058 one-click
POST exactly as a mailbox provider sends it works without cookies, and one can come back."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import Subscriber
from tests.service.web.public.conftest import (
    BASE,
    confirmed,
    csrf_token,
    link_in,
    mails_to,
)


def status(settings: Settings) -> str:
    with session_scope(settings) as session:
        return session.scalars(select(Subscriber)).one().status


def unsubscribe_link(client: TestClient) -> str:
    confirmed(client, "bob@example.org")
    return link_in(mails_to("bob@example.org")[-1], "unsubscribe")  # from the welcome mail


def test_get_shows_one_button_and_never_unsubscribes(client: TestClient, site: Settings) -> None:
    path = unsubscribe_link(client)
    for _ in range(3):  # a link scanner fetching it again and again
        response = client.get(path)
        assert response.status_code == 200
    assert response.text.count('type="submit"') == 1 and "bob@example.org" in response.text
    assert status(site) == "active"


def test_button_post_unsubscribes_and_offers_resubscribe(client: TestClient, site: Settings) -> None:
    path = unsubscribe_link(client)
    response = client.post(path, data={"csrf_token": csrf_token(client.get(path).text, path)})
    assert response.status_code == 200
    assert "You're unsubscribed" in response.text
    assert status(site) == "unsubscribed"
    again = client.post(f"{path}/resubscribe",
                        data={"csrf_token": csrf_token(response.text, f"{path}/resubscribe")})
    assert again.status_code == 303 and status(site) == "active"
    assert "Welcome back" in client.get(again.headers["location"]).text


def test_button_post_without_csrf_is_403(client: TestClient, site: Settings) -> None:
    path = unsubscribe_link(client)
    client.get(path)
    assert client.post(path, data={}).status_code == 403
    assert status(site) == "active"


def test_one_click_post_as_a_mail_provider_sends_it(client: TestClient, site: Settings) -> None:
    path = unsubscribe_link(client)
    welcome = mails_to("bob@example.org")[-1]
    header_url = welcome["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    assert header_url == f"{BASE}{path}"
    # A fresh client: no cookies, no CSRF token, no redirect following, just the RFC 8058 body.
    transport = httpx.ASGITransport(app=client.app)  # type: ignore[arg-type]
    import anyio

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url=BASE, follow_redirects=False) as provider:
            return await provider.post(
                header_url, content=b"List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )

    response = anyio.run(post)
    assert response.status_code == 200
    assert "location" not in response.headers
    assert status(site) == "unsubscribed"
    assert anyio.run(post).status_code == 200  # a provider retrying is harmless


def test_one_click_with_a_tampered_token_is_404(client: TestClient, site: Settings) -> None:
    path = unsubscribe_link(client)
    response = TestClient(client.app, base_url=BASE).post(
        path[:-2] + "zz", content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 404
    assert status(site) == "active"


def test_revoked_unsubscribe_link_is_404(client: TestClient, site: Settings) -> None:
    path = unsubscribe_link(client)
    with session_scope(site) as session:
        session.scalars(select(Subscriber)).one().token_version += 1
    assert client.get(path).status_code == 404
