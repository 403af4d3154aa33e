"""The in-process backend for tests: keeps every message in a process-global list."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from service.mail.protocol import DeliveryError, SendResult


@dataclass(frozen=True)
class SentMail:
    envelope_from: str
    to: str
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class _Answer:
    error: DeliveryError
    times: int  # -1 = always


_lock = threading.Lock()
_sent: list[SentMail] = []
_answers: dict[str, _Answer] = {}


def memory_outbox() -> list[SentMail]:
    """A copy of everything sent so far in this process, oldest first."""
    with _lock:
        return list(_sent)


def clear_memory_outbox() -> None:
    """Forget sent messages and scripted failures."""
    with _lock:
        _sent.clear()
        _answers.clear()


def fail_recipient(address: str, error: DeliveryError, times: int = -1) -> None:
    """Make the next TIMES sends to ADDRESS raise ERROR (-1: every send), like a refusing server."""
    with _lock:
        _answers[address.lower()] = _Answer(error, times)


class MemoryBackend:
    def send(self, envelope_from: str, to: str, message_bytes: bytes) -> SendResult:
        with _lock:
            answer = _answers.get(to.lower())
            if answer is not None and answer.times != 0:
                if answer.times > 0:
                    answer.times -= 1
                raise answer.error
            _sent.append(SentMail(envelope_from, to, message_bytes))
        return SendResult(reply="stored in memory", sent=message_bytes)

    def close(self) -> None:
        pass
