"""Per-key GCRA limits: in-process and in Redis behave alike."""

from __future__ import annotations

import pytest

from service.web.ratelimit import (
    Limit,
    LocalKeyedLimiter,
    RateLimited,
    RedisKeyedLimiter,
    WebLimits,
    enforce,
)

FIVE_AN_HOUR = Limit("t", 5, 3600)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_per_key() -> None:
    clock = Clock()
    limiter = LocalKeyedLimiter(clock)
    assert [limiter.hit("a", FIVE_AN_HOUR) for _ in range(5)] == [0.0] * 5
    wait = limiter.hit("a", FIVE_AN_HOUR)
    assert wait == pytest.approx(720)  # one request back every 12 minutes
    assert limiter.hit("b", FIVE_AN_HOUR) == 0.0  # keys are independent
    clock.now += 719
    assert limiter.hit("a", FIVE_AN_HOUR) > 0
    clock.now += 1
    assert limiter.hit("a", FIVE_AN_HOUR) == 0.0
    assert limiter.hit("a", FIVE_AN_HOUR) > 0


def test_refusals_do_not_use_budget() -> None:
    clock = Clock()
    limiter = LocalKeyedLimiter(clock)
    for _ in range(50):
        limiter.hit("a", FIVE_AN_HOUR)
    clock.now += 720
    assert limiter.hit("a", FIVE_AN_HOUR) == 0.0


def test_pruning_keeps_memory_bounded() -> None:
    clock = Clock()
    limiter = LocalKeyedLimiter(clock, max_keys=100)
    for i in range(1000):
        limiter.hit(f"k{i}", FIVE_AN_HOUR)
    assert len(limiter._tat) <= 100


def test_enforce_stops_at_the_first_refusal() -> None:
    limiter = LocalKeyedLimiter(Clock())
    one = Limit("one", 1, 60)
    enforce(limiter, [(one, "ip"), (one, "addr")], "sign-up")
    with pytest.raises(RateLimited, match="too many sign-up requests") as caught:
        enforce(limiter, [(one, "ip"), (one, "addr2")], "sign-up")
    assert caught.value.retry_after > 0
    enforce(limiter, [(one, "ip2"), (one, "addr2")], "sign-up")  # addr2 was not counted above


def test_scaled_limits() -> None:
    limits = WebLimits().scaled(100)
    assert limits.subscribe_ip.count == 2000 and limits.subscribe_ip.period_seconds == 3600


@pytest.mark.integration
def test_redis_limiter_matches_the_local_one(redis_url: str) -> None:
    import redis

    limiter = RedisKeyedLimiter(redis.Redis.from_url(redis_url), prefix="papermail-test")
    assert [limiter.hit("a@example.org", FIVE_AN_HOUR) for _ in range(5)] == [0.0] * 5
    assert 700 < limiter.hit("a@example.org", FIVE_AN_HOUR) <= 720
    assert limiter.hit("b@example.org", FIVE_AN_HOUR) == 0.0
    keys = redis.Redis.from_url(redis_url).keys("papermail-test:*")
    assert keys and all(b"example.org" not in k for k in keys)  # addresses are hashed


def test_peek_counts_nothing_and_tells_what_is_left() -> None:
    clock = Clock()
    limiter = LocalKeyedLimiter(clock)
    assert limiter.peek("a", FIVE_AN_HOUR) == (5, 0.0)
    for left in (4, 3, 2, 1, 0):
        limiter.hit("a", FIVE_AN_HOUR)
        assert limiter.peek("a", FIVE_AN_HOUR)[0] == left
    assert limiter.peek("a", FIVE_AN_HOUR) == (0, 720.0)
    assert limiter.peek("a", FIVE_AN_HOUR) == (0, 720.0)  # peeking twice spends nothing
    clock.now += 720
    assert limiter.peek("a", FIVE_AN_HOUR) == (1, 0.0)
    clock.now += 4 * 720
    assert limiter.peek("a", FIVE_AN_HOUR) == (5, 0.0)


@pytest.mark.integration
def test_redis_peek_matches_the_local_one(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.keys("papermail-peek:*"):
        client.delete(key)
    limiter = RedisKeyedLimiter(client, prefix="papermail-peek")
    assert limiter.peek("c@example.org", FIVE_AN_HOUR) == (5, 0.0)
    for _ in range(5):
        limiter.hit("c@example.org", FIVE_AN_HOUR)
    left, wait = limiter.peek("c@example.org", FIVE_AN_HOUR)
    assert left == 0 and 700 < wait <= 720
    assert limiter.hit("c@example.org", FIVE_AN_HOUR) > 0
