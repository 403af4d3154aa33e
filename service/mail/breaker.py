"""The relay's circuit breaker: when the SMTP relay is down or refusing everything, every worker
stops trying at once, and one probe at a growing interval finds out when it is back.

It opens after SMTP_BREAKER_FAILURES connection failures (or 421 answers) in a row, or after
SMTP_BREAKER_TEMPFAILS other 4xx answers in a row (a storm: one greylisted address is not). While
it is open no message is attempted; after a pause (1 s, doubling up to SMTP_BREAKER_MAX_SECONDS)
the first caller takes the probe, and its send decides: accepted (or refused with a 5xx, which
means the relay is up) closes the breaker, another failure doubles the pause.

The state is one small record: in the broker's Redis when there is one (all workers on all hosts
share it, like the send rate in ``send_rate.py``), in the process otherwise. The transitions are
pure functions (``admit``, ``record``); the stores only keep the record.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import redis

from service.mail.protocol import DeliveryError, MailBackend, NeedsSevenBit, SendResult
from service.mail.send_rate import RateLimiter, acquire

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)

# ok: the relay took the message, or answered it with a 5xx (it is up and talking);
# down: it could not be reached or kept (refused, timeout, lost connection, 421);
# tempfail: another 4xx, which in a long enough row means the relay is throttling us.
Outcome = Literal["ok", "down", "tempfail"]
T = TypeVar("T")


def outcome_of(error: DeliveryError | None) -> Outcome:
    if error is None or error.permanent:
        return "ok"
    if error.code is None or error.code == 421:
        return "down"
    return "tempfail"


@dataclass(frozen=True)
class Policy:
    failures: int = 3
    tempfails: int = 20
    first_pause: float = 1.0
    longest_pause: float = 30.0
    # A probe not heard of after this long is presumed dead with its worker: another may probe.
    probe_seconds: float = 65.0


@dataclass(frozen=True)
class BreakerState:
    failures: int = 0  # "down" outcomes in a row
    tempfails: int = 0  # "tempfail" outcomes in a row
    open_until: float = 0.0  # wall-clock seconds; 0 while closed
    pause: float = 0.0  # the current pause, doubled by each failed probe
    probing_until: float = 0.0  # a probe is out until then
    opened_at: float = 0.0
    reason: str = ""

    @property
    def is_open(self) -> bool:
        return self.open_until > 0

    def describe(self, now: float) -> dict[str, Any]:
        """For /healthz and the admin dashboard."""
        if not self.is_open:
            return {"state": "closed", "failures": self.failures, "tempfails": self.tempfails}
        return {
            "state": "probing" if self.probing_until > now else "open",
            "open_seconds": round(now - self.opened_at, 1),
            "next_probe_in": round(max(self.open_until - now, 0.0), 1),
            "pause": self.pause,
            "reason": self.reason,
        }


CLOSED = BreakerState()


def admit(state: BreakerState, now: float, policy: Policy) -> tuple[BreakerState, float]:
    """May a message be attempted now? (new state, 0) if so, else (state, seconds to wait)."""
    if not state.is_open:
        return state, 0.0
    if now < state.open_until:
        return state, state.open_until - now
    if now < state.probing_until:
        return state, min(state.probing_until - now, policy.first_pause)
    return replace(state, probing_until=now + policy.probe_seconds), 0.0


def record(state: BreakerState, outcome: Outcome, now: float, policy: Policy, reason: str = "") -> BreakerState:
    """The state after an attempt ended with OUTCOME."""
    if outcome == "ok":
        return CLOSED
    failures = state.failures + 1 if outcome == "down" else state.failures
    tempfails = state.tempfails + 1 if outcome == "tempfail" else state.tempfails
    if state.is_open:
        if now < state.open_until:  # an attempt let through before it opened: nothing new
            return replace(state, failures=failures, tempfails=tempfails)
        pause = min(state.pause * 2, policy.longest_pause)  # the probe failed
        return replace(state, failures=failures, tempfails=tempfails, open_until=now + pause, pause=pause,
                       probing_until=0.0, reason=reason or state.reason)
    if failures >= policy.failures or tempfails >= policy.tempfails:
        return BreakerState(failures, tempfails, open_until=now + policy.first_pause, pause=policy.first_pause,
                            opened_at=now, reason=reason)
    return replace(state, failures=failures, tempfails=tempfails)


class RelayPaused(DeliveryError):
    """Not attempted: the relay's breaker is open. Transient; try again in ``retry_after`` s."""

    def __init__(self, relay: str, retry_after: float, reason: str = "") -> None:
        because = f" after {reason}" if reason else ""
        super().__init__(f"SMTP {relay} paused{because}; next probe in {retry_after:.1f}s", permanent=False)
        self.retry_after = retry_after


class Breaker(Protocol):
    policy: Policy

    def admit(self) -> float: ...

    def record(self, outcome: Outcome, reason: str = "") -> bool: ...

    def state(self) -> BreakerState: ...


class LocalBreaker:
    """The breaker of one process (embedded default: one worker host). With SNAPSHOT set, each
    opening and closing is written there, so /healthz in the web process can show it."""

    def __init__(self, policy: Policy, snapshot: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.policy = policy
        self._state = CLOSED
        self._snapshot = snapshot
        self._clock = clock
        self._lock = threading.Lock()

    def _change(self, step: Callable[[BreakerState, float], tuple[BreakerState, T]]) -> T:
        with self._lock:
            before = self._state
            self._state, result = step(before, self._clock())
            if self._snapshot is not None and self._state.open_until != before.open_until:
                write_snapshot(self._snapshot, self._state)
            return result

    def admit(self) -> float:
        return self._change(lambda state, now: admit(state, now, self.policy))

    def record(self, outcome: Outcome, reason: str = "") -> bool:
        def step(state: BreakerState, now: float) -> tuple[BreakerState, bool]:
            new = record(state, outcome, now, self.policy, reason)
            return new, new.is_open

        return self._change(step)

    def state(self) -> BreakerState:
        with self._lock:
            return self._state


def write_snapshot(path: Path, state: BreakerState) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(asdict(state)))
        partial.replace(path)
    except OSError as exc:  # a read-only DATA_DIR must not stop the sending
        log.warning("could not write the relay breaker's state to %s: %s", path, exc)


def read_state(raw: bytes | str | None) -> BreakerState:
    if not raw:
        return CLOSED
    try:
        return BreakerState(**json.loads(raw))
    except (ValueError, TypeError):
        return CLOSED


class RedisBreaker:
    """The breaker shared through Redis: one JSON record, changed under WATCH/MULTI on Redis' own
    clock. Admission while closed is decided on a view at most CACHE_SECONDS old, so a healthy
    relay costs a worker about two Redis round trips a second, not one per message. When Redis
    cannot be reached the process falls back to a breaker of its own."""

    CACHE_SECONDS = 0.5
    AWAY_SECONDS = 5.0
    TTL_SECONDS = 24 * 3600

    def __init__(self, client: redis.Redis, key: str, policy: Policy,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._client = client
        self._key = key
        self._clock = clock
        self._view = CLOSED
        self._view_at = float("-inf")
        self._local = LocalBreaker(policy)
        self._warned_at = float("-inf")
        self._away_until = float("-inf")

    def _fresh(self) -> bool:
        return self._clock() - self._view_at < self.CACHE_SECONDS

    def _change(self, step: Callable[[BreakerState, float], tuple[BreakerState, T]],
                fallback: Callable[[LocalBreaker], T]) -> T:
        if self._clock() < self._away_until:
            return fallback(self._local)
        try:
            with self._client.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(self._key)
                        state = read_state(pipe.get(self._key))
                        seconds, micros = pipe.time()
                        new, result = step(state, seconds + micros / 1_000_000)
                        if new != state:
                            pipe.multi()
                            pipe.set(self._key, json.dumps(asdict(new)), ex=self.TTL_SECONDS)
                            pipe.execute()
                        self._view, self._view_at = new, self._clock()
                        return result
                    except redis.WatchError:
                        continue  # another worker changed it meanwhile: decide again on theirs
        except redis.RedisError as exc:
            # Each attempt on a Redis that is away costs its connect timeout and retries: ask again later.
            self._away_until = self._clock() + self.AWAY_SECONDS
            if self._clock() - self._warned_at > 30:
                self._warned_at = self._clock()
                log.warning("relay breaker: Redis unavailable (%s); this process decides alone meanwhile", exc)
            return fallback(self._local)

    def admit(self) -> float:
        if not self._view.is_open and self._fresh():
            return 0.0
        return self._change(lambda state, now: admit(state, now, self.policy), lambda local: local.admit())

    def record(self, outcome: Outcome, reason: str = "") -> bool:
        if outcome == "ok" and self._view == CLOSED and self._fresh():
            return False

        def step(state: BreakerState, now: float) -> tuple[BreakerState, bool]:
            new = record(state, outcome, now, self.policy, reason)
            return new, new.is_open

        return self._change(step, lambda local: local.record(outcome, reason))

    def state(self) -> BreakerState:
        return self._change(lambda state, now: (state, state), lambda local: local.state())


def policy_of(settings: Settings) -> Policy:
    return Policy(
        failures=settings.smtp_breaker_failures,
        tempfails=settings.smtp_breaker_tempfails,
        longest_pause=settings.smtp_breaker_max_seconds,
        # a probe may wait out a connect timeout and a retry on a fresh connection
        probe_seconds=2 * settings.smtp_timeout_seconds + 5,
    )


def breaker_key(settings: Settings) -> str:
    return f"papermail:relay-breaker:{settings.smtp_host}:{settings.smtp_port}"


def snapshot_path(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "relay-breaker.json"


def relay_breaker(settings: Settings) -> Breaker:
    """Shared through Redis when the broker is Redis, else this process's own."""
    if settings.broker_is_embedded:
        return LocalBreaker(policy_of(settings), snapshot=snapshot_path(settings))
    client = redis.Redis.from_url(settings.effective_broker_url, socket_timeout=2, socket_connect_timeout=2)
    return RedisBreaker(client, breaker_key(settings), policy_of(settings))


def relay_status(settings: Settings) -> dict[str, Any]:
    """The breaker as the workers see it, for /healthz and the admin dashboard: ``state`` is
    closed, open or probing (and ``unknown`` when its store cannot be read)."""
    if settings.broker_is_embedded:
        path = snapshot_path(settings)
        try:
            state = read_state(path.read_text()) if path.exists() else CLOSED
        except OSError:
            return {"state": "unknown"}
        return state.describe(time.time())
    try:
        client = redis.Redis.from_url(settings.effective_broker_url, socket_timeout=2, socket_connect_timeout=2)
        raw, (seconds, micros) = client.get(breaker_key(settings)), client.time()
    except redis.RedisError as exc:
        return {"state": "unknown", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return read_state(raw).describe(seconds + micros / 1_000_000)


class SendAbandoned(Exception):
    """The caller stopped wanting this message sent while the relay was paused (its lease lapsed)."""


def send_through_breaker(backend: MailBackend, limiter: RateLimiter, envelope_from: str, to: str, data: bytes,
                         still_wanted: Callable[[], bool], sleep: Callable[[float], None] = time.sleep) -> SendResult:
    """Send once the relay is up: while its breaker is open, wait (checking about once a second,
    without touching the relay) and send when it closes or this caller holds the probe. Each
    attempt takes a slot of the global send rate first.

    A relay that cannot be reached is not the message's fault: such a failure is tried again
    here, a second later, until the breaker opens (then the message waits with the others)
    or it happened as many times as opens the breaker while the relay served others (then it
    is this message's failure, for the caller to retry later)."""
    unreached = 0
    while True:
        if not still_wanted():
            raise SendAbandoned(to)
        try:
            acquire(limiter)
        except redis.RedisError:
            sleep(1.0)  # the shared rate is out of reach: never send faster than it allows
            continue
        try:
            return backend.send(envelope_from, to, data)
        except RelayPaused as paused:
            sleep(min(max(paused.retry_after, 0.05), 1.0))
        except NeedsSevenBit:
            raise  # the relay answered: the same bytes would be refused again; the caller recomposes
        except DeliveryError as error:
            breaker: Breaker | None = getattr(backend, "breaker", None)
            unreached += 1
            if breaker is None or outcome_of(error) != "down" or unreached >= breaker.policy.failures:
                raise
            sleep(breaker.policy.first_pause)
