"""Per-key request limits for web forms (per client IP, per email address): GCRA per key.

Each key gets a budget of COUNT requests per PERIOD, refilled smoothly (one every PERIOD/COUNT
seconds); a burst of COUNT is allowed from rest. A refused request does not use budget, so a
client that keeps hammering is let in again as soon as its budget refills. Shared through
Redis when the broker is Redis (several web processes, several hosts), in-process otherwise.

Typical use::

    limiter = keyed_limiter(settings)
    wait = limiter.hit(f"ip:{client_ip(request)}", limits.subscribe_ip)   # 0.0 = allowed
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import redis
from starlette.requests import Request

from config.settings import Settings


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    period_seconds: float

    @property
    def interval(self) -> float:
        return self.period_seconds / self.count


@dataclass(frozen=True)
class WebLimits:
    """The limits of the public forms. ``scaled`` multiplies every budget (benchmarks, tests)."""

    subscribe_ip: Limit = Limit("subscribe-ip", 20, 3600)
    subscribe_address: Limit = Limit("subscribe-address", 5, 3600)
    link_ip: Limit = Limit("link-ip", 10, 3600)
    link_address: Limit = Limit("link-address", 3, 3600)

    def scaled(self, factor: float) -> WebLimits:
        def grow(limit: Limit) -> Limit:
            return replace(limit, count=max(1, int(limit.count * factor)))

        return WebLimits(*(grow(getattr(self, name)) for name in self.__dataclass_fields__))

    @classmethod
    def from_settings(cls, settings: Settings) -> WebLimits:
        # WEB_RATE_LIMIT_SCALE is read when Settings has it (asked of the lead); 1 = as above.
        return cls().scaled(settings.web_rate_limit_scale)


class KeyedLimiter(Protocol):
    def hit(self, key: str, limit: Limit) -> float:
        """Count one request for KEY; 0.0 when allowed, else seconds until it would be."""
        ...

    def peek(self, key: str, limit: Limit) -> tuple[int, float]:
        """Count nothing: (requests KEY may still make now, seconds until it may make one more
        when that is 0). ``limit.count`` left means KEY has not been seen within the period."""
        ...


def _left(tat: float, now: float, limit: Limit) -> tuple[int, float]:
    """GCRA's budget from the theoretical arrival time TAT: one request per interval is owed."""
    owed = max(tat - now, 0.0) / limit.interval
    left = max(0, min(limit.count, int(limit.count - owed + 1e-9)))
    wait = 0.0 if left else tat - limit.period_seconds + limit.interval - now
    return left, max(wait, 0.0)


class LocalKeyedLimiter:
    """In one process (embedded default: one web process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, limit: Limit) -> float:
        full_key = f"{limit.name}:{key}"
        with self._lock:
            now = self._clock()
            tat = max(self._tat.get(full_key, now), now)
            allowed_at = tat - limit.period_seconds + limit.interval
            if allowed_at > now:
                return allowed_at - now
            if len(self._tat) >= self._max_keys:
                self._prune(now)
            self._tat[full_key] = tat + limit.interval
            return 0.0

    def peek(self, key: str, limit: Limit) -> tuple[int, float]:
        with self._lock:
            now = self._clock()
            return _left(self._tat.get(f"{limit.name}:{key}", now), now, limit)

    def _prune(self, now: float) -> None:
        # A key whose theoretical arrival time has passed has its full budget back: forget it.
        for stale in [k for k, tat in self._tat.items() if tat <= now]:
            del self._tat[stale]
        if len(self._tat) >= self._max_keys:  # still full: under attack, drop the oldest half
            for k in sorted(self._tat, key=self._tat.__getitem__)[: self._max_keys // 2]:
                del self._tat[k]


# GCRA in Redis on Redis' clock; books only when allowed. Returns the wait in microseconds.
_GCRA_KEYED = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat - period + interval
if allowed_at > now then return allowed_at - now end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil((tat + interval - now) / 1000) + 1000)
return 0
"""

# Read-only: the stored TAT and Redis' clock, in microseconds ({tat or now, now}).
_GCRA_PEEK = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
return {tonumber(redis.call('GET', KEYS[1]) or now), now}
"""


class RedisKeyedLimiter:
    def __init__(self, client: redis.Redis, prefix: str = "papermail:web-limit") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA_KEYED)
        self._peek = client.register_script(_GCRA_PEEK)

    def _key(self, key: str, limit: Limit) -> str:
        # Hashed: addresses never sit in Redis in clear, and keys stay short.
        return f"{self._prefix}:{limit.name}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def hit(self, key: str, limit: Limit) -> float:
        args = [int(limit.interval * 1_000_000), int(limit.period_seconds * 1_000_000)]
        wait_us = int(self._script(keys=[self._key(key, limit)], args=args))
        return wait_us / 1_000_000

    def peek(self, key: str, limit: Limit) -> tuple[int, float]:
        tat_us, now_us = self._peek(keys=[self._key(key, limit)])
        return _left(int(tat_us) / 1_000_000, int(now_us) / 1_000_000, limit)


def keyed_limiter(settings: Settings) -> KeyedLimiter:
    if settings.broker_is_embedded:
        return LocalKeyedLimiter()
    return RedisKeyedLimiter(redis.Redis.from_url(settings.effective_broker_url, socket_timeout=2))


def client_ip(request: Request) -> str:
    """The client's address as the server saw it (uvicorn's --proxy-headers already replaced
    it with X-Forwarded-For from a trusted proxy; an untrusted header is never read here)."""
    return request.client.host if request.client else "unknown"


class RateLimited(Exception):
    def __init__(self, retry_after: float, what: str) -> None:
        super().__init__(f"too many {what} requests; try again in {_human(retry_after)}")
        self.retry_after = retry_after


def _human(seconds: float) -> str:
    minutes = int(seconds // 60) + 1
    return "a minute" if minutes <= 1 else f"{minutes} minutes"


def enforce(limiter: KeyedLimiter, checks: list[tuple[Limit, str]], what: str) -> None:
    """Count a request against each (limit, key) in turn; raise RateLimited at the first refusal
    (the later ones are not counted)."""
    for limit, key in checks:
        wait = limiter.hit(key, limit)
        if wait > 0:
            raise RateLimited(wait, what)
