"""One guard at the edge for input no route can use: a NUL character anywhere in the path, the
query or a form or JSON body (PostgreSQL refuses NUL in text, so it would surface as a 500 from
deep inside a query), and a path or query longer than any link papermail makes.

``InputGuard`` is a pure ASGI middleware: it answers 400 (414 for length) before any route runs,
in the API's JSON error shape under /api and /webhooks and as a short text elsewhere. Form and
JSON bodies are read whole to be checked (they are small: each route caps its own) and replayed
to the app unchanged; uploads (multipart) are left to the routes that parse them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.web.api.errors import error_response

MAX_PATH_CHARS = 2048
MAX_QUERY_BYTES = 8192
# Larger form or JSON bodies are refused here: no route takes more than 256 KB of form fields.
MAX_SCANNED_BODY_BYTES = 4 * 1024 * 1024
JSON_PATHS = ("/api/", "/webhooks/")

# An escaped NUL in JSON: \u0000 after an even number of backslashes (\\u0000 is text, not NUL).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def url_problem(path: str, query: bytes) -> tuple[int, str] | None:
    """Pure: what is wrong with this path and raw query string, as (status, message)."""
    if len(path) > MAX_PATH_CHARS:
        return 414, f"the path is longer than {MAX_PATH_CHARS} characters"
    if len(query) > MAX_QUERY_BYTES:
        return 414, f"the query string is longer than {MAX_QUERY_BYTES} bytes"
    if "\x00" in path or b"\x00" in query or b"%00" in query.lower():
        return 400, "the request contains a NUL character"
    return None


def body_problem(content_type: str, body: bytes) -> tuple[int, str] | None:
    """Pure: what is wrong with a form or JSON BODY."""
    if b"\x00" in body:
        return 400, "the request body contains a NUL character"
    if content_type == "application/x-www-form-urlencoded" and b"%00" in body:
        return 400, "the form contains a NUL character"
    if content_type.endswith("json") and _JSON_NUL.search(body):
        return 400, "the JSON body contains a NUL character"
    return None


def _content_type(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _scanned(content_type: str) -> bool:
    return content_type == "application/x-www-form-urlencoded" or content_type.endswith("json")


class InputGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        problem = url_problem(path, scope.get("query_string", b""))
        content_type = _content_type(scope.get("headers", []))
        if problem is None and _scanned(content_type):
            body, more = await _read_body(receive)
            problem = (413, "the request body is too large") if more else body_problem(content_type, body)
            receive = _replay(body, receive)
        if problem is not None:
            await refusal(path, *problem)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def refusal(path: str, status: int, message: str) -> Response:
    if path.startswith(JSON_PATHS):
        codes = {400: "bad_request", 413: "too_large", 414: "too_long"}
        return error_response(status, codes[status], message)
    return PlainTextResponse(f"Bad request: {message}.", status_code=status)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body (up to the scan limit), and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_SCANNED_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: a disconnect, whenever it comes

    return replayed
