"""HEAD of every GET page answers like the GET (status, headers) with no body; not a 405."""

from __future__ import annotations

from fastapi.testclient import TestClient

from config.settings import Settings
from service.storage import migrate
from service.web.app import create_app


def test_head_is_get_without_the_body(settings: Settings) -> None:
    migrate.upgrade(settings)
    client = TestClient(create_app(settings), follow_redirects=False)
    for path in ("/", "/healthz", "/links", "/static/papermail.css"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
    css = client.head("/static/papermail.css")
    assert int(css.headers["content-length"]) == len(client.get("/static/papermail.css").content)
    assert client.head("/no-such-page").status_code == 404
    assert client.head("/check-inbox").status_code == 200
