"""fetch() against a real HTTP server on 127.0.0.1 serving the recorded feeds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from service.ingest.fetch import (
    BodyTooLarge,
    FetchError,
    HostInterval,
    RetryLater,
    fetch,
    retry_after_seconds,
)
from service.papers import SourceError
from service.sources import source_for

ETAG = '"hf-2026-06-12"'
LAST_MODIFIED = "Fri, 12 Jun 2026 08:00:00 GMT"
NOW = datetime(2026, 6, 12, 9, 0, tzinfo=UTC)


class FixtureServer:
    def __init__(self, feeds: Path) -> None:
        self.feeds = feeds
        self.requests: list[dict[str, str]] = []
        self.release = threading.Event()  # lets the slow handler finish at teardown
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        # A short poll interval keeps shutdown() (and so each test's teardown) fast.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet tests
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                route = getattr(self, "route_" + self.path.strip("/").replace("-", "_").split("?")[0], None)
                if route is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                else:
                    route()

            def route_hf(self) -> None:
                if self.headers.get("If-None-Match") == ETAG or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                    self._send(304, headers={"ETag": ETAG})
                    return
                body = (server.feeds / "hf_daily_papers_2026-06-12.json").read_bytes()
                headers = {"Content-Type": "application/json", "ETag": ETAG, "Last-Modified": LAST_MODIFIED}
                self._send(200, body, headers)

            def route_rss(self) -> None:
                body = (server.feeds / "arxiv_rss_cs_ai_2026-04-27.xml").read_bytes()
                self._send(200, body, {"Content-Type": "application/rss+xml; charset=UTF-8"})

            def route_html_error(self) -> None:
                self._send(200, b"<!DOCTYPE html><html><body>We are down</body></html>", {"Content-Type": "text/html"})

            def route_limited(self) -> None:
                self._send(429, b"slow down", {"Retry-After": "120"})

            def route_busy(self) -> None:
                later = format_datetime(NOW + timedelta(minutes=5), usegmt=True)
                self._send(503, b"busy", {"Retry-After": later})

            def route_limited_bare(self) -> None:
                self._send(429, b"slow down")

            def route_missing(self) -> None:
                self._send(404, b"gone")

            def route_broken(self) -> None:
                self._send(500, b"oops")

            def route_redirect(self) -> None:
                self._send(302, headers={"Location": "/moved"})

            def route_moved(self) -> None:
                self._send(301, headers={"Location": f"{server.base}/rss"})

            def route_redirect_file(self) -> None:
                self._send(302, headers={"Location": "file:///etc/passwd"})

            def route_loop(self) -> None:
                self._send(307, headers={"Location": "/loop"})

            def route_slow(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "10")
                self.end_headers()
                self.wfile.flush()
                server.release.wait(timeout=0.8)  # longer than the client's read timeout
                self.wfile.write(b"late bytes")

            def route_big_declared(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(50 * 1024 * 1024))
                self.end_headers()
                self.wfile.write(b"x" * 1024)

            def route_big_streamed(self) -> None:
                # No Content-Length: the cap must be enforced while reading.
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"[" + b" " * 65_535
                try:
                    for _ in range(64):  # 4 MiB in all
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up at the cap, as it should

        return Handler

    def __enter__(self) -> FixtureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=2)


@pytest.fixture()
def server(shared_fixtures: Path) -> Iterator[FixtureServer]:
    with FixtureServer(shared_fixtures / "feeds") as running:
        yield running


def test_ok_returns_body_and_validators(server: FixtureServer) -> None:
    result = fetch(f"{server.base}/hf", user_agent="papermail/0.1 (mailto:ops@example.org)")
    assert result.status == "ok"
    assert result.etag == ETAG and result.last_modified == LAST_MODIFIED
    assert result.content_type == "application/json"
    assert result.final_url == f"{server.base}/hf"
    parsed = source_for(result.body, result.content_type).parse(result.body, result.content_type)
    assert len(parsed.papers) == 30
    assert server.requests[-1]["user-agent"] == "papermail/0.1 (mailto:ops@example.org)"
    assert "if-none-match" not in server.requests[-1]


def test_conditional_get_with_etag_is_not_modified(server: FixtureServer) -> None:
    result = fetch(f"{server.base}/hf", etag=ETAG, last_modified=LAST_MODIFIED)
    assert result.status == "not_modified" and result.body == b""
    assert result.etag == ETAG and result.last_modified == LAST_MODIFIED  # kept for the next poll
    assert server.requests[-1]["if-none-match"] == ETAG
    assert server.requests[-1]["if-modified-since"] == LAST_MODIFIED


def test_conditional_get_with_last_modified_only(server: FixtureServer) -> None:
    assert fetch(f"{server.base}/hf", last_modified=LAST_MODIFIED).status == "not_modified"
    assert fetch(f"{server.base}/hf", etag='"stale"').status == "ok"


def test_429_with_retry_after_seconds(server: FixtureServer) -> None:
    with pytest.raises(RetryLater) as caught:
        fetch(f"{server.base}/limited")
    assert caught.value.after_seconds == 120 and caught.value.status == 429 and caught.value.transient


def test_503_with_retry_after_http_date(server: FixtureServer) -> None:
    with pytest.raises(RetryLater) as caught:
        fetch(f"{server.base}/busy", now=lambda: NOW)
    assert caught.value.after_seconds == 300 and caught.value.status == 503


def test_429_without_retry_after_uses_the_default(server: FixtureServer) -> None:
    with pytest.raises(RetryLater) as caught:
        fetch(f"{server.base}/limited-bare")
    assert caught.value.after_seconds == 60


@pytest.mark.parametrize(("path", "status", "transient"), [("/missing", 404, False), ("/broken", 500, True)])
def test_other_errors_carry_the_status(server: FixtureServer, path: str, status: int, transient: bool) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(server.base + path)
    assert not isinstance(caught.value, RetryLater)
    assert (caught.value.status, caught.value.transient) == (status, transient)
    assert str(caught.value).startswith(f"HTTP {status}")


def test_redirects_are_followed(server: FixtureServer) -> None:
    result = fetch(f"{server.base}/redirect")
    assert result.status == "ok" and result.final_url == f"{server.base}/rss"
    assert len(source_for(result.body).parse(result.body).papers) == 3
    assert [r["path"] for r in server.requests] == ["/redirect", "/moved", "/rss"]


def test_redirect_to_a_non_http_scheme_is_refused(server: FixtureServer) -> None:
    with pytest.raises(FetchError, match="refused URL scheme 'file'"):
        fetch(f"{server.base}/redirect-file")


def test_redirect_limit(server: FixtureServer) -> None:
    with pytest.raises(FetchError, match="more than 2 redirects"):
        fetch(f"{server.base}/loop", max_redirects=2)
    assert len(server.requests) == 3


def test_only_http_and_https_urls() -> None:
    for url in ("file:///etc/passwd", "ftp://example.com/feed", "javascript:alert(1)", "/relative"):
        with pytest.raises(FetchError, match="refused URL scheme"):
            fetch(url)


def test_slow_response_hits_the_read_timeout(server: FixtureServer) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as caught:
        fetch(f"{server.base}/slow", read_timeout=0.2)
    assert caught.value.transient
    assert time.monotonic() - started < 0.8


def test_declared_oversized_body_is_refused_before_reading(server: FixtureServer) -> None:
    with pytest.raises(BodyTooLarge, match="over the 1048576-byte cap"):
        fetch(f"{server.base}/big-declared", max_bytes=1024 * 1024)


def test_streamed_oversized_body_stops_at_the_cap(server: FixtureServer) -> None:
    with pytest.raises(BodyTooLarge, match="passed the 1048576-byte cap"):
        fetch(f"{server.base}/big-streamed", max_bytes=1024 * 1024)


def test_html_error_page_with_200_is_fetched_then_refused_by_the_parser(server: FixtureServer) -> None:
    result = fetch(f"{server.base}/html-error")
    assert result.status == "ok"
    with pytest.raises(SourceError, match="HTML page"):
        source_for(result.body, result.content_type)


def test_connection_refused_is_a_transient_fetch_error() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as probe:
        port = probe.server_address[1]
    with pytest.raises(FetchError, match="request failed: ConnectError") as caught:
        fetch(f"http://127.0.0.1:{port}/feed", connect_timeout=0.5)
    assert caught.value.transient


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),  # already past
        ("99999999", 86_400.0),  # capped at a day
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_host_interval_keeps_three_seconds_between_arxiv_calls() -> None:
    clock = FakeClock()
    limiter = HostInterval({"export.arxiv.org": 3.0}, clock=clock, sleep=clock.sleep)
    api = "https://export.arxiv.org/api/query?search_query=cat:cs.LG"
    assert limiter.wait(api) == 0
    assert limiter.wait(api) == 3.0
    clock.now += 1.0
    assert limiter.wait(api) == 2.0
    clock.now += 10.0
    assert limiter.wait(api) == 0
    assert clock.slept == [3.0, 2.0]


def test_host_interval_is_per_host() -> None:
    clock = FakeClock()
    limiter = HostInterval({"export.arxiv.org": 3.0}, default=0.5, clock=clock, sleep=clock.sleep)
    assert limiter.wait("https://export.arxiv.org/api/query") == 0
    assert limiter.wait("https://huggingface.co/api/daily_papers") == 0
    assert limiter.wait("https://huggingface.co/api/daily_papers") == 0.5
    assert limiter.wait("https://EXPORT.arxiv.org/api/query") == pytest.approx(2.5)


def test_concurrent_callers_each_get_their_own_slot() -> None:
    clock = FakeClock()
    lock = threading.Lock()
    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:  # record only: the clock stays put, slots must still differ
        with lock:
            waits.append(seconds)

    limiter = HostInterval({"export.arxiv.org": 3.0}, clock=clock, sleep=fake_sleep)
    threads = [threading.Thread(target=limiter.wait, args=("https://export.arxiv.org/a",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == [3.0, 6.0, 9.0]


def test_fetch_waits_on_the_limiter(server: FixtureServer) -> None:
    clock = FakeClock()
    limiter = HostInterval({"127.0.0.1": 3.0}, clock=clock, sleep=clock.sleep)
    fetch(f"{server.base}/rss", limiter=limiter)
    fetch(f"{server.base}/rss", limiter=limiter)
    assert clock.slept == [3.0]
