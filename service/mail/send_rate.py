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
local slots = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local start = tat - burst * interval
local wait = 0
if start > now then wait = start - now end
local after = tat + slots * interval
redis.call('SET', KEYS[1], after, 'PX', math.ceil((after - now) / 1000) + 1000)
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
    """GCRA in Redis: every worker on every host books from the same timeline.

    BLOCK slots are booked per round trip and handed out locally, one interval apart: a worker
    sending hundreds a second would otherwise spend a Redis round trip per message. Slots a
    worker books but does not use are lost, so keep BLOCK small beside the rate."""

    def __init__(self, client: redis.Redis, key: str, rate: float, burst: int = 1, block: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._key = key
        self._interval = 1.0 / rate
        self._interval_us = int(1_000_000 / rate)
        self._burst = burst - 1
        self._block = block
        self._clock = clock
        self._booked: list[float] = []  # local clock times of the slots booked, latest first
        self._lock = threading.Lock()
        self._script = client.register_script(_GCRA)

    def reserve(self) -> float:
        with self._lock:
            now = self._clock()
            if not self._booked:
                wait_us = int(self._script(keys=[self._key], args=[self._interval_us, self._burst, self._block]))
                first = now + wait_us / 1_000_000
                self._booked = [first + i * self._interval for i in reversed(range(self._block))]
            return max(0.0, self._booked.pop() - now)


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
    # About a tenth of a second of slots per round trip, between 1 and 20.
    block = max(1, min(20, int(settings.send_rate_per_second / 10)))
    return RedisRateLimiter(client, "papermail:send-rate", settings.send_rate_per_second, block=block)
