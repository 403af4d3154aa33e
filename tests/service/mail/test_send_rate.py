"""The global send rate: slots 1/rate apart, shared by every process that uses the same Redis."""

from __future__ import annotations

import pytest

from service.mail.send_rate import LocalRateLimiter, RedisRateLimiter, acquire


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_local_limiter_spaces_slots_evenly() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(rate=5, clock=clock)
    waits = [limiter.reserve() for _ in range(4)]  # four callers at the same instant
    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_local_limiter_does_not_bank_idle_time_beyond_the_burst() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(rate=10, burst=3, clock=clock)
    clock.now += 60  # a quiet minute
    waits = [limiter.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])


def test_acquire_sleeps_exactly_the_reserved_wait() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(rate=2, clock=clock)
    total = sum(acquire(limiter, sleep=clock.sleep) for _ in range(5))
    assert total == pytest.approx(2.0)
    assert clock.now == pytest.approx(102.0)  # 5 sends at 2/s span 2 s


@pytest.mark.integration
def test_redis_limiter_is_shared_across_instances(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    worker_a = RedisRateLimiter(client, "test:send", rate=10)
    worker_b = RedisRateLimiter(redis.Redis.from_url(redis_url), "test:send", rate=10)
    waits = [limiter.reserve() for limiter in (worker_a, worker_b, worker_a, worker_b, worker_a)]
    # Booked back to back from one timeline: each slot 100 ms after the previous one, whoever asks.
    gaps = [b - a for a, b in zip(waits, waits[1:], strict=False)]
    assert waits[0] == pytest.approx(0.0, abs=0.01)
    assert gaps == pytest.approx([0.1] * 4, abs=0.01)
    assert 0 < client.pttl("test:send") <= 2500


@pytest.mark.integration
def test_redis_limiter_books_blocks_and_hands_them_out_locally(redis_url: str) -> None:
    import redis

    clock = FakeClock()
    worker_a = RedisRateLimiter(redis.Redis.from_url(redis_url), "test:block", rate=10, block=3, clock=clock)
    worker_b = RedisRateLimiter(redis.Redis.from_url(redis_url), "test:block", rate=10, block=3, clock=clock)
    waits_a = [worker_a.reserve() for _ in range(3)]  # one round trip books three slots
    assert waits_a == pytest.approx([0.0, 0.1, 0.2], abs=0.01)
    # B's block starts after A's three slots on the shared timeline.
    assert worker_b.reserve() == pytest.approx(0.3, abs=0.01)
