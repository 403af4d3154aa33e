"""A global send rate: GCRA (a token bucket kept as one timestamp), shared through Redis when
the broker is Redis — Celery's own rate_limit is per worker process — and in-process otherwise.

``reserve()`` books the next slot and returns how long to wait for it; ``acquire()`` waits.
Booking before waiting keeps the rate exact under contention: N workers asking at once get
slots 1/rate apart instead of all retrying together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from config.settings import Settings

# Redis' own clock (TIME) is the one clock every worker host agrees on.
_GCRA = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local start = tat - burst * interval
local wait = 0
if start > now then wait = start - now end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil((tat + interval - now) / 1000) + 1000)
return wait
"""


class RateLimiter(Protocol):
    def reserve(self) -> float: ...


class LocalRateLimiter:
    """GCRA in one process (embedded default: one worker host)."""

    def __init__(self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self.burst = burst
        self._clock = clock
        self._tat: float | None = None
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = self._clock()
            tat = max(self._tat if self._tat is not None else now, now)
            self._tat = tat + self.interval
            return max(0.0, tat - (self.burst - 1) * self.interval - now)


class RedisRateLimiter:
    """GCRA in Redis: every worker on every host books from the same timeline."""

    def __init__(self, client: redis.Redis, key: str, rate: float, burst: int = 1) -> None:
        self._client = client
        self._key = key
        self._interval_us = int(1_000_000 / rate)
        self._burst = burst - 1
        self._script = client.register_script(_GCRA)

    def reserve(self) -> float:
        wait_us = int(self._script(keys=[self._key], args=[self._interval_us, self._burst]))
        return wait_us / 1_000_000


def acquire(limiter: RateLimiter, sleep: Callable[[float], None] = time.sleep) -> float:
    """Wait for the next slot (this is the rate limit itself, not synchronisation)."""
    wait = limiter.reserve()
    if wait > 0:
        sleep(wait)
    return wait


def send_rate_limiter(settings: Settings) -> RateLimiter:
    if settings.broker_is_embedded:
        return LocalRateLimiter(settings.send_rate_per_second)
    client = redis.Redis.from_url(settings.effective_broker_url)
    return RedisRateLimiter(client, "papermail:send-rate", settings.send_rate_per_second)
