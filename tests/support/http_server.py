"""A programmable HTTP server on loopback: each path answers from a queue of canned responses
(the last one repeats), and every request's headers are kept for assertions."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Canned:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)


class ScriptedServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Canned]] = defaultdict(list)
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def script(self, path: str, *responses: Canned) -> None:
        """PATH answers RESPONSES in order; the last one keeps answering."""
        with self._lock:
            self.routes[path] = list(responses)

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _next(self, path: str) -> Canned:
        with self._lock:
            queue = self.routes.get(path.split("?")[0]) or [Canned(404, b"not found")]
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with server._lock:
                    parts = urlsplit(self.path)
                    server.requests.append(Seen(parts.path, dict(self.headers.items()), dict(parse_qsl(parts.query))))
                canned = server._next(self.path)
                self.send_response(canned.status)
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(canned.body)))
                self.end_headers()
                self.wfile.write(canned.body)

        return Handler

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
