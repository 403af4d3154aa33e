"""Public web under a fixed request rate: GET / and POST / (sign-up) on loopback.

    python -m bench.web [--rate 200] [--seconds 30] [--post-share 0.25]

Starts `papermail web` in its own process (uvicorn, one worker; LOG_LEVEL=WARNING, so no access
log) on a free port over a fresh DATA_DIR (SQLite, filesystem broker, outbox mail; the demo papers ingested),
then sends requests open-loop: request i leaves at t0 + i/rate whether or not earlier ones have
answered, and its latency counts from that scheduled moment, so a stalled server shows up in
the figures instead of slowing the load down. Each sign-up uses a new address, so each one
writes a subscriber and puts a confirmation on the transactional queue (no worker runs: the
enqueue is the web's share of the cost). Prints p50/p90/p99/max per request kind and errors.

The sign-up rate limits are multiplied by --limit-scale (WEB_RATE_LIMIT_SCALE; the limiter still
runs on every request, it just never refuses): a benchmark from one IP is not an abuser.
Target: p99 < 50 ms for GET /.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

REPO = Path(__file__).resolve().parents[1]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def prepare(data_dir: Path, env: dict[str, str]) -> None:
    from config.settings import load_settings
    from service.storage import migrate
    from service.demo.cast import sample_papers_path
    from service.ingest.poll import ingest_document

    settings = load_settings(data_dir=data_dir, environment="test", secret_key=env["PAPERMAIL_SECRET_KEY"],
                             mail_backend="outbox")
    migrate.upgrade(settings)
    ingest_document(settings, sample_papers_path().read_bytes(), source_name="demo", fmt="hf", now=datetime.now(UTC))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Connection:
    """One keep-alive HTTP/1.1 connection, minimal on purpose: httpx's pool costs more CPU per
    request than the page it fetches at these rates (measured), so the client would be the
    bottleneck and its lag would show up as server latency."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        body = await self.reader.readexactly(int(match.group(1))) if match else b""
        return status, head, body


def http_request(method: str, path: str, host: str, cookie: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Cookie: {cookie}", "Accept: text/html"]
    if body:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def browser_session(url: str) -> tuple[str, str]:
    """One visitor's CSRF cookie and form token; one warm-up sign-up (Celery producer, caches)."""
    with httpx.Client(base_url=url) as client:
        token_match = CSRF_RE.search(client.get("/").text)
        assert token_match, "no CSRF token on /"
        token = token_match.group(1)
        client.post("/", data={"csrf_token": token, "email": "warm-up@example.org"})
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items()), token


async def drive(url: str, rate: float, seconds: float, post_share: float, cookie: str, token: str,
                connections: int = 64) -> dict[str, list]:
    """Open-loop load: request i is due at t0 + i/rate and its latency counts from then."""
    host_port = url.split("//", 1)[1]
    host, port = host_port.split(":")
    latencies: dict[str, list] = {"GET /": [], "POST /": [], "_errors": []}
    total = int(rate * seconds)
    every = round(1 / post_share) if post_share > 0 else 0
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    get_raw = http_request("GET", "/", host_port, cookie)

    async def worker() -> None:
        conn = Connection(host, int(port))
        while (item := await queue.get()) is not None:
            i, due = item
            is_post = bool(every) and i % every == 0
            if is_post:
                form = urlencode({"csrf_token": token, "email": f"bench{i}-{secrets.token_hex(3)}@example.org",
                                  "topics": ["llm", "agents"], "keywords": "quantization", "frequency": "daily",
                                  "send_hour": "8", "timezone": "Europe/Paris"}, doseq=True).encode()
                raw = http_request("POST", "/", host_port, cookie, form)
            else:
                raw = get_raw
            try:
                status, _, body = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError) as exc:
                latencies["_errors"].append(type(exc).__name__)
                conn = Connection(host, int(port))
                continue
            elapsed = (time.perf_counter() - due) * 1000
            ok = status == 303 if is_post else (status == 200 and b'id="papers-title"' in body)
            if not ok:
                latencies["_errors"].append(f"{'POST' if is_post else 'GET'} {status}")
            latencies["POST /" if is_post else "GET /"].append(elapsed)

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter() + 0.2
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    latencies["_took"] = [time.perf_counter() - start]
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (all kinds)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--post-share", type=float, default=0.25, help="share of requests that are sign-ups")
    parser.add_argument("--limit-scale", type=float, default=1e6, help="rate-limit budgets multiplied by this")
    args = parser.parse_args()

    from tests.support.processes import free_port

    with tempfile.TemporaryDirectory(prefix="papermail-bench-web-") as tmp:
        data_dir = Path(tmp) / "var"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERMAIL_")}
        env |= {"PAPERMAIL_DATA_DIR": str(data_dir), "PAPERMAIL_ENVIRONMENT": "test", "PAPERMAIL_MAIL_BACKEND": "outbox",
                "PAPERMAIL_SECRET_KEY": secrets.token_urlsafe(32), "PAPERMAIL_LOG_LEVEL": "WARNING",
                "PAPERMAIL_WEB_RATE_LIMIT_SCALE": str(args.limit_scale)}
        prepare(data_dir, env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "service.cli", "web", "--host", "127.0.0.1", "--port",
                                   str(port), "--no-migrate"], cwd=REPO, env=env)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("bench: the server did not start")
                time.sleep(0.1)  # waiting for the server to listen
            cookie, token = browser_session(url)
            result = asyncio.run(drive(url, args.rate, args.seconds, args.post_share, cookie, token))
        finally:
            server.terminate()
            server.wait(timeout=20)
    errors = result.pop("_errors")
    took = result.pop("_took")[0]
    sent = sum(len(v) for v in result.values()) + len(errors)
    print(f"web bench: {args.rate:.0f} req/s for {args.seconds:.0f} s on loopback "
          f"({sent} requests in {took:.1f} s, {args.post_share:.0%} sign-ups)")
    for kind, values in result.items():
        print(f"  {kind:7s} n={len(values):6d}  p50={percentile(values, .50):6.1f} ms  p90={percentile(values, .90):6.1f} ms"
              f"  p99={percentile(values, .99):6.1f} ms  max={max(values, default=float('nan')):6.1f} ms")
    print(f"  errors: {len(errors)}" + (f" ({', '.join(sorted(set(errors)))})" if errors else ""))
    get_p99 = percentile(result["GET /"], .99)
    print(f"  target GET / p99 < 50 ms: {'met' if get_p99 < 50 else 'MISSED'} ({get_p99:.1f} ms)")


if __name__ == "__main__":
    main()
