"""HEAD answered like GET, without the body (RFC 9110: every GET resource should take HEAD).

FastAPI's routes answer only the methods they declare, so ``HEAD /`` was a 405: uptime checks
and link checkers that probe with HEAD saw an error. This ASGI middleware runs the GET and
drops the body; the status and headers (Content-Length included) are the GET's own.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server keeps its own scope saying HEAD, and writes no body for it either.
        await self.app({**scope, "method": "GET"}, receive, without_body)
