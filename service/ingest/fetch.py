"""The HTTP edge of ingestion: one polite, bounded, conditional GET.

``fetch`` follows redirects itself so every hop is checked (http/https only), streams the
body and stops past ``max_bytes``, sends If-None-Match / If-Modified-Since, and turns
429/503 into ``RetryLater`` carrying the server's Retry-After. ``HostInterval`` keeps a
minimum gap between calls to one host (arXiv asks for 3 s on its API).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_USER_AGENT = "papermail/0.1"
DEFAULT_RETRY_AFTER = 60.0
# A hostile or broken server must not park a source for a month.
MAX_RETRY_AFTER = 24 * 3600.0
_ACCEPT = "application/json, application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchResult:
    status: Literal["ok", "not_modified"]
    body: bytes  # empty when not modified
    etag: str | None
    last_modified: str | None
    content_type: str | None
    final_url: str


class FetchError(Exception):
    """The request failed; ``transient`` says whether trying again later may help."""

    def __init__(self, message: str, *, url: str, status: int | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.transient = transient


class RetryLater(FetchError):
    """The server asked us to come back later (429/503), after ``after_seconds``."""

    def __init__(self, message: str, *, url: str, status: int, after_seconds: float) -> None:
        super().__init__(message, url=url, status=status, transient=True)
        self.after_seconds = after_seconds


class BodyTooLarge(FetchError):
    """The response body passed the size cap; nothing of it is returned."""


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    connect_timeout: float = 10.0,
    read_timeout: float = 30.0,
    total_timeout: float = 120.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    user_agent: str = DEFAULT_USER_AGENT,
    max_redirects: int = 5,
    limiter: HostInterval | None = None,
    client: httpx.Client | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FetchResult:
    """GET ``url`` (conditionally, when ``etag``/``last_modified`` from the last poll are given).

    Raises ``RetryLater`` for 429/503, ``BodyTooLarge`` past ``max_bytes``, ``FetchError`` for
    anything else that is not a 2xx or 304.
    """
    _require_http(url, url)
    headers = {"User-Agent": user_agent, "Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout)
    own_client = client is None
    http = client or httpx.Client(follow_redirects=False)
    try:
        if limiter is not None:
            limiter.wait(url)
        return _follow(http, url, headers, timeout, max_redirects, max_bytes, total_timeout, etag, last_modified, now)
    finally:
        if own_client:
            http.close()


def _follow(
    http: httpx.Client,
    url: str,
    headers: dict[str, str],
    timeout: httpx.Timeout,
    max_redirects: int,
    max_bytes: int,
    total_timeout: float,
    etag: str | None,
    last_modified: str | None,
    now: Callable[[], datetime],
) -> FetchResult:
    deadline = time.monotonic() + total_timeout
    current = url
    for _ in range(max_redirects + 1):
        try:
            with http.stream("GET", current, headers=headers, timeout=timeout, follow_redirects=False) as response:
                status = response.status_code
                if status in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(f"HTTP {status} redirect without a Location", url=current, status=status)
                    target = urljoin(current, location)
                    _require_http(target, current)
                    current = target
                    continue
                if status == 304:
                    return FetchResult(
                        status="not_modified",
                        body=b"",
                        etag=response.headers.get("etag") or etag,
                        last_modified=response.headers.get("last-modified") or last_modified,
                        content_type=response.headers.get("content-type"),
                        final_url=current,
                    )
                _raise_for_status(response, current, now)
                body = _read_capped(response, current, max_bytes, deadline)
                return FetchResult(
                    status="ok",
                    body=body,
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                    content_type=response.headers.get("content-type"),
                    final_url=current,
                )
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out ({type(exc).__name__}) fetching {current}", url=current, transient=True) from exc
        except httpx.HTTPError as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise FetchError(f"request failed: {type(exc).__name__}: {first}", url=current, transient=True) from exc
    raise FetchError(f"more than {max_redirects} redirects", url=current)


def _require_http(target: str, referrer: str) -> None:
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        where = "" if target == referrer else f" (redirected from {referrer})"
        raise FetchError(f"refused URL scheme {scheme or '(none)'!r}: only http and https{where}", url=target)


def _raise_for_status(response: httpx.Response, url: str, now: Callable[[], datetime]) -> None:
    status = response.status_code
    if status in (429, 503):
        delay = retry_after_seconds(response.headers.get("retry-after"), now())
        after = DEFAULT_RETRY_AFTER if delay is None else delay
        raise RetryLater(f"HTTP {status}: retry after {after:.0f} s", url=url, status=status, after_seconds=after)
    if status >= 400 or status < 200:
        raise FetchError(f"HTTP {status} {response.reason_phrase}".strip(), url=url, status=status, transient=status >= 500)


def _read_capped(response: httpx.Response, url: str, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"response of {declared} bytes is over the {max_bytes}-byte cap", url=url, status=response.status_code)
    chunks: list[bytes] = []
    size = 0
    # iter_bytes() yields decompressed data, so the cap also bounds gzip bombs.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(f"response body passed the {max_bytes}-byte cap", url=url, status=response.status_code)
        if time.monotonic() > deadline:
            raise FetchError("response took longer than the total timeout", url=url, transient=True)
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


class HostInterval:
    """Keeps at least ``intervals[host]`` seconds between the starts of calls to one host.

    Callers reserve their slot under a lock and sleep outside it, so threads waiting for one
    host do not hold up another. The clock and sleep are injectable for tests. It holds in
    one process; several worker processes each keep their own gap.
    """

    def __init__(
        self,
        intervals: Mapping[str, float],
        *,
        default: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._intervals = {host.lower(): seconds for host, seconds in intervals.items()}
        self._default = default
        self._clock = clock
        self._sleep = sleep
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, url: str) -> float:
        """Block until this host may be called again; return how long it waited."""
        host = (urlsplit(url).hostname or "").lower()
        interval = self._intervals.get(host, self._default)
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay
