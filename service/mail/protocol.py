"""The narrow interface every mail backend implements, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SendResult:
    """What a backend reports for one accepted message.

    ``message_id`` is the Message-ID header of the bytes sent (``<...>``), ``reply`` what the
    backend said when it took the message: the SMTP server's final answer (often carrying its
    queue id, handy when a bounce comes back), or the outbox file name.
    """

    message_id: str | None
    reply: str | None = None


class DeliveryError(Exception):
    """Sending failed. ``permanent`` tells the caller whether a retry can help.

    ``hard_bounce`` means the address itself is dead (5.1.1 and kin): the caller should stop
    mailing it, not just fail this delivery.
    """

    def __init__(
        self,
        message: str,
        permanent: bool,
        code: int | None = None,
        *,
        hard_bounce: bool = False,
        enhanced_status: str | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.hard_bounce = hard_bounce
        self.enhanced_status = enhanced_status

    def __repr__(self) -> str:
        return (
            f"DeliveryError({str(self)!r}, permanent={self.permanent}, code={self.code},"
            f" hard_bounce={self.hard_bounce})"
        )


class MailBackend(Protocol):
    """Takes finished message bytes (already signed) and delivers them to one recipient."""

    def send(self, envelope_from: str, to: str, message_bytes: bytes) -> SendResult:
        """Deliver ``message_bytes`` as they are; raise DeliveryError on failure."""
        ...

    def close(self) -> None:
        """Release connections or handles; the backend may be used again afterwards."""
        ...


class NeedsSevenBit(DeliveryError):
    """An 8bit message met a relay that does not take 8bit: transient, and the relay's fault
    only in that it changed; the breaker counts it as the relay answering, and the sender
    composes the message again (its composer now sees the relay's answer) and sends it once more."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)
