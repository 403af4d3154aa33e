"""The relay's circuit breaker: its rules as pure transitions, its two stores, and the SMTP
backend against a real sink that goes down and comes back."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.mail import DeliveryError
from service.mail.protocol import NeedsSevenBit
from service.mail.breaker import (
    CLOSED,
    LocalBreaker,
    Policy,
    RedisBreaker,
    RelayPaused,
    SendAbandoned,
    admit,
    outcome_of,
    record,
    relay_status,
    send_through_breaker,
)
from service.mail.send_rate import LocalRateLimiter
from service.mail.smtp import SmtpBackend
from tests.conftest import make_settings
from tests.support.smtp_sink import EphemeralPortController, SmtpSink, _Handler

POLICY = Policy(failures=3, tempfails=5, first_pause=1.0, longest_pause=8.0, probe_seconds=30.0)
MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nMessage-ID: <1@example.org>\r\nSubject: hi\r\n\r\nhello\r\n"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_outcomes() -> None:
    assert outcome_of(None) == "ok"
    assert outcome_of(DeliveryError("refused", permanent=False)) == "down"
    assert outcome_of(DeliveryError("421 closing", permanent=False, code=421)) == "down"
    assert outcome_of(DeliveryError("451 greylisted", permanent=False, code=451)) == "tempfail"
    assert outcome_of(DeliveryError("550 no such user", permanent=True, code=550)) == "ok"  # the relay is up


def test_opens_after_failures_in_a_row_and_a_success_resets_the_count() -> None:
    state = CLOSED
    for _ in range(2):
        state = record(state, "down", 0.0, POLICY)
    state = record(state, "ok", 0.0, POLICY)
    for _ in range(2):
        state = record(state, "down", 0.0, POLICY)
    assert not state.is_open
    state = record(state, "down", 10.0, POLICY, "connection refused")
    assert state.is_open and state.open_until == 11.0 and state.reason == "connection refused"


def test_a_storm_of_4xx_opens_it_but_a_greylisted_address_does_not() -> None:
    state = CLOSED
    for _ in range(4):
        state = record(record(state, "tempfail", 0.0, POLICY), "ok", 0.0, POLICY)
    assert not state.is_open
    for _ in range(5):
        state = record(state, "tempfail", 0.0, POLICY)
    assert state.is_open


def test_one_probe_after_each_pause_which_doubles_up_to_the_longest() -> None:
    state = BreakerOpenAt(0.0)
    probes = []
    now = 0.0
    while now < 60:
        state, wait = admit(state, now, POLICY)
        if wait == 0:
            probes.append(now)
            assert admit(state, now, POLICY)[1] > 0  # the others wait while the probe is out
            state = record(state, "down", now, POLICY)
        now += 0.5
    gaps = [b - a for a, b in zip(probes, probes[1:], strict=False)]
    assert probes[0] == 1.0
    assert gaps[:4] == [2.0, 4.0, 8.0, 8.0]
    state, wait = admit(state, now + 8, POLICY)
    assert wait == 0
    assert record(state, "ok", now + 8, POLICY) == CLOSED


def test_a_probe_presumed_dead_lets_another_probe() -> None:
    state, wait = admit(BreakerOpenAt(0.0), 1.0, POLICY)
    assert wait == 0  # probing; its worker dies
    assert admit(state, 20.0, POLICY)[1] > 0
    assert admit(state, 31.5, POLICY)[1] == 0


def BreakerOpenAt(now: float):  # type: ignore[no-untyped-def]
    state = CLOSED
    for _ in range(POLICY.failures):
        state = record(state, "down", now, POLICY)
    return state


def test_local_breaker_snapshot_shows_it_open_to_another_process(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", mail_backend="smtp")
    from service.mail.breaker import snapshot_path

    breaker = LocalBreaker(POLICY, snapshot=snapshot_path(settings))
    assert relay_status(settings)["state"] == "closed"
    for _ in range(3):
        breaker.record("down", "connection refused")
    status = relay_status(settings)
    assert status["state"] == "open" and status["reason"] == "connection refused"
    breaker.record("ok")
    assert relay_status(settings)["state"] == "closed"


@pytest.mark.integration
def test_redis_breaker_is_shared_by_every_worker(redis_url: str) -> None:
    import redis

    clock = Clock()
    one = RedisBreaker(redis.Redis.from_url(redis_url), "test:breaker", POLICY, clock=clock)
    other = RedisBreaker(redis.Redis.from_url(redis_url), "test:breaker", POLICY, clock=clock)
    assert other.admit() == 0
    for _ in range(3):
        one.record("down", "connection refused")
    clock.now += 1  # other's view of "closed" is older than its cache now
    wait = other.admit()
    assert 0 < wait <= 1.0
    assert other.state().is_open
    settings = make_settings(Path("/nonexistent"), broker_url=redis_url, mail_backend="smtp")
    from service.mail.breaker import breaker_key

    redis.Redis.from_url(redis_url).set(breaker_key(settings), redis.Redis.from_url(redis_url).get("test:breaker") or b"")
    assert relay_status(settings)["state"] == "open"


def test_redis_unreachable_falls_back_to_this_process() -> None:
    import redis

    clock = Clock()
    breaker = RedisBreaker(redis.Redis(port=free_port(), socket_connect_timeout=0.2), "k", POLICY, clock=clock)
    breaker._local = LocalBreaker(POLICY, clock=clock)
    for _ in range(3):
        breaker.record("down")
    assert breaker.admit() == pytest.approx(1.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the SMTP backend against a sink that goes down ------------------------------------------
FAST = Policy(failures=3, tempfails=20, first_pause=0.2, longest_pause=0.8, probe_seconds=10.0)


class CountingBackend(SmtpBackend):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.attempts: list[float] = []

    def _open(self):  # type: ignore[no-untyped-def]
        self.attempts.append(time.monotonic())
        return super()._open()


def restart(sink: SmtpSink, port: int) -> None:
    """The same sink listening on PORT again (a relay back from an outage)."""
    sink._controller = EphemeralPortController(_Handler(sink), hostname=sink.host, port=port, decode_data=False)
    sink._controller.start()


def test_breaker_opens_while_the_relay_is_down_and_closes_when_it_is_back(smtp_sink: SmtpSink) -> None:
    port = smtp_sink.port
    breaker = LocalBreaker(FAST)
    backend = CountingBackend(host="127.0.0.1", port=port, timeout=5, breaker=breaker)
    backend.send("a@example.org", "b@example.org", MESSAGE)
    assert breaker.state() == CLOSED

    smtp_sink.stop()
    backend.close()
    errors = []
    for _ in range(3):
        with pytest.raises(DeliveryError) as raised:
            backend.send("a@example.org", "b@example.org", MESSAGE)
        errors.append(raised.value)
    assert isinstance(errors[-1], RelayPaused) and not isinstance(errors[0], RelayPaused)
    assert breaker.state().is_open
    tried = len(backend.attempts)
    with pytest.raises(RelayPaused):  # open: refused without touching the relay
        backend.send("a@example.org", "b@example.org", MESSAGE)
    assert len(backend.attempts) == tried

    # Sending pauses: about one probe per pause (0.2, 0.4, 0.8, 0.8 ... s) while the relay is down.
    down_from = time.monotonic()
    with pytest.raises(SendAbandoned):
        send_through_breaker(backend, LocalRateLimiter(1000), "a@example.org", "b@example.org", MESSAGE,
                             still_wanted=lambda: time.monotonic() - down_from < 3.0)
    probes = [t for t in backend.attempts if t >= down_from]
    assert 2 <= len(probes) <= 6
    assert all(b - a >= 0.19 for a, b in zip(probes, probes[1:], strict=False))

    restart(smtp_sink, port)
    started = time.monotonic()
    send_through_breaker(backend, LocalRateLimiter(1000), "a@example.org", "c@example.org", MESSAGE,
                         still_wanted=lambda: True)
    assert time.monotonic() - started < 2.0  # within one longest pause of the relay's return
    assert breaker.state() == CLOSED
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["b@example.org"], ["c@example.org"]]
    backend.close()


@pytest.mark.integration
def test_workers_sharing_the_redis_breaker_pause_together_and_resume_together(smtp_sink: SmtpSink,
                                                                               redis_url: str) -> None:
    import redis

    port, key = smtp_sink.port, "test:relay-breaker:shared"
    # two workers' backends, each with its own Redis client on the one shared record
    one, other = (CountingBackend(host="127.0.0.1", port=port, timeout=5,
                                  breaker=RedisBreaker(redis.Redis.from_url(redis_url), key, FAST)) for _ in range(2))
    smtp_sink.stop()
    for _ in range(3):
        with pytest.raises(DeliveryError):
            one.send("a@example.org", "b@example.org", MESSAGE)
    assert one.breaker is not None and one.breaker.state().is_open
    with pytest.raises(RelayPaused):  # the other worker never saw the relay fail, and does not try it
        other.send("a@example.org", "c@example.org", MESSAGE)
    assert other.attempts == []

    restart(smtp_sink, port)
    started = time.monotonic()
    send_through_breaker(other, LocalRateLimiter(1000), "a@example.org", "c@example.org", MESSAGE,
                         still_wanted=lambda: time.monotonic() - started < 10)
    assert time.monotonic() - started < 2.0  # the first probe after the relay's return closes it
    assert len(other.attempts) == 1
    assert one.breaker.state() == CLOSED  # closed for the first worker too, by the other's probe
    one.send("a@example.org", "d@example.org", MESSAGE)
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["c@example.org"], ["d@example.org"]]
    for backend in (one, other):
        backend.close()


def test_healthz_shows_the_breaker_open(tmp_path: Path) -> None:
    from service.mail.breaker import snapshot_path
    from service.storage import migrate
    from service.web.app import create_app

    settings = make_settings(tmp_path / "var", mail_backend="smtp")
    migrate.upgrade(settings)
    client = TestClient(create_app(settings))
    assert client.get("/healthz").json()["relay"]["state"] == "closed"
    breaker = LocalBreaker(POLICY, snapshot=snapshot_path(settings))
    for _ in range(3):
        breaker.record("down", "SMTP 127.0.0.1:25 unavailable: ConnectionRefusedError")
    response = client.get("/healthz")
    assert response.status_code == 200  # the web serves on; the status says sending is paused
    body = response.json()
    assert body["status"] == "degraded"
    assert body["relay"]["state"] == "open" and "ConnectionRefusedError" in body["relay"]["reason"]


class Flaky:
    """A backend whose relay cannot be reached the first FAILURES times."""

    def __init__(self, failures: int) -> None:
        self.breaker = LocalBreaker(POLICY)
        self.failures = failures
        self.calls = 0

    def send(self, envelope_from: str, to: str, message_bytes: bytes) -> object:
        self.calls += 1
        if self.calls <= self.failures:
            raise DeliveryError("SMTP 127.0.0.1:25 unavailable: ConnectionRefusedError", permanent=False)
        return "sent"

    def close(self) -> None:
        pass


def test_an_unreachable_relay_is_tried_again_in_place_not_counted_against_the_message() -> None:
    clock = Clock()
    flaky = Flaky(failures=1)
    result = send_through_breaker(flaky, LocalRateLimiter(1000), "a@example.org", "b@example.org", MESSAGE,  # type: ignore[arg-type]
                                  still_wanted=lambda: True, sleep=clock.sleep)
    assert (result, flaky.calls, clock.now) == ("sent", 2, 1000 + POLICY.first_pause)


def test_a_message_the_relay_drops_while_serving_others_fails_after_a_few_tries() -> None:
    flaky = Flaky(failures=99)
    with pytest.raises(DeliveryError):
        send_through_breaker(flaky, LocalRateLimiter(1000), "a@example.org", "b@example.org", MESSAGE,  # type: ignore[arg-type]
                             still_wanted=lambda: True, sleep=Clock().sleep)
    assert flaky.calls == POLICY.failures
    greylisted = DeliveryError("451 try later", permanent=False, code=451)

    class Greylisting(Flaky):
        def send(self, envelope_from: str, to: str, message_bytes: bytes) -> object:
            self.calls += 1
            raise greylisted

    once = Greylisting(0)
    with pytest.raises(DeliveryError) as raised:  # a 4xx for this address: the caller's retry, at once
        send_through_breaker(once, LocalRateLimiter(1000), "a@example.org", "b@example.org", MESSAGE,  # type: ignore[arg-type]
                             still_wanted=lambda: True, sleep=Clock().sleep)
    assert raised.value is greylisted and once.calls == 1


def test_a_relay_that_took_8bit_no_longer_is_told_at_once_not_tried_again_with_the_same_bytes() -> None:
    class SevenBitNow(Flaky):
        def send(self, envelope_from: str, to: str, message_bytes: bytes) -> object:
            self.calls += 1
            raise NeedsSevenBit("SMTP 127.0.0.1:25 does not announce 8BITMIME")

    relay, clock = SevenBitNow(failures=0), Clock()
    with pytest.raises(NeedsSevenBit):
        send_through_breaker(relay, LocalRateLimiter(1000), "a@example.org", "b@example.org", MESSAGE,  # type: ignore[arg-type]
                             still_wanted=lambda: True, sleep=clock.sleep)
    assert (relay.calls, clock.now) == (1, 1000)  # one try, no pause: the caller composes it again
