"""A real SMTP server for tests: aiosmtpd on an ephemeral loopback port.

It keeps each accepted message's raw bytes and envelope, and can be told to answer a given
recipient with a transient (4xx) or permanent (5xx) error, a number of times.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class EphemeralPortController(Controller):
    """aiosmtpd 1.4.6 probes its own port after binding; with port=0 it would probe port 0."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()


@dataclass
class Hold:
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Rule:
    code: str
    times: int  # how many more times to answer with it; -1 = always


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.sink._lock:
            self.sink.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        rule = self.sink.take_rule(address)
        if rule is not None:
            return rule
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        held = self.sink.held_for(envelope.rcpt_tos)
        if held is not None:
            # Keep the client waiting for our answer (a worker stuck mid-send) until released,
            # then refuse: the message held was never accepted (its client is usually dead by then).
            held.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, held.released.wait)
            return "451 4.3.0 held message dropped"
        data = envelope.original_content or b""
        self.sink.record(Received(str(envelope.mail_from), list(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"


@dataclass
class SmtpSink:
    host: str = "127.0.0.1"
    messages: list[Received] = field(default_factory=list)
    _rules: dict[str, _Rule] = field(default_factory=dict)
    _holds: dict[str, Hold] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)
    _controller: Controller | None = None
    # Extra aiosmtpd options (TLS context, AUTH) for tests of secured relays.
    controller_options: dict[str, Any] = field(default_factory=dict)
    # EHLO/HELO greetings seen: one per SMTP session, so connection reuse can be asserted.
    sessions: int = 0

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    def start(self) -> None:
        # port=0 asks the OS for a free port; decode_data=False keeps the exact bytes (DKIM).
        self._controller = EphemeralPortController(
            _Handler(self), hostname=self.host, port=0, decode_data=False, **self.controller_options
        )
        self._controller.start()

    def stop(self) -> None:
        with self._lock:
            for hold in self._holds.values():
                hold.released.set()
        if self._controller is not None:
            self._controller.stop()

    @property
    def port(self) -> int:
        assert self._controller is not None and self._controller.server is not None
        return int(self._controller.server.sockets[0].getsockname()[1])

    def answer(self, address: str, code: str, times: int = -1) -> None:
        """Answer RCPT TO:<address> with CODE (e.g. '451 4.7.1 try later') TIMES times."""
        with self._lock:
            self._rules[address.lower()] = _Rule(code, times)

    def hold(self, address: str) -> Hold:
        """The next message to ADDRESS waits for its answer until released, then is refused."""
        with self._lock:
            self._holds[address.lower()] = Hold()
            return self._holds[address.lower()]

    def held_for(self, recipients: list[str]) -> Hold | None:
        with self._lock:
            for address in recipients:
                hold = self._holds.pop(address.lower(), None)
                if hold is not None:
                    return hold
        return None

    def take_rule(self, address: str) -> str | None:
        with self._lock:
            rule = self._rules.get(address.lower())
            if rule is None or rule.times == 0:
                return None
            if rule.times > 0:
                rule.times -= 1
            return rule.code

    def record(self, received: Received) -> None:
        with self._arrived:
            self.messages.append(received)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until COUNT messages arrived (a condition variable, not a sleep)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout):
                raise TimeoutError(f"expected {count} messages, got {len(self.messages)} in {timeout}s")
            return list(self.messages)

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def settings_overrides(self) -> dict[str, Any]:
        return {"mail_backend": "smtp", "smtp_host": self.host, "smtp_port": self.port, "smtp_security": "none"}
