"""The narrow interface every mail backend implements, and the one error it raises."""

from __future__ import annotations

from typing import Protocol

from service.mail.message import message_id_of


class SendResult:
    """What a backend reports for one accepted message.

    ``message_id`` is the Message-ID header of the bytes sent (``<...>``), ``reply`` what the
    backend said when it took the message: the SMTP server's final answer (often carrying its
    queue id, handy when a bounce comes back), or the outbox file name.

    A backend that has only the bytes passes them as SENT: the header is read from them when
    ``message_id`` is first asked for. A worker never asks (it composed the message and knows),
    and reading it cost ~4 µs a send.
    """

    __slots__ = ("_message_id", "_sent", "reply")

    def __init__(self, message_id: str | None = None, reply: str | None = None, *, sent: bytes | None = None) -> None:
        self._message_id = message_id
        self._sent = sent
        self.reply = reply

    @property
    def message_id(self) -> str | None:
        if self._sent is not None:
            self._message_id, self._sent = message_id_of(self._sent), None
        return self._message_id

    def __repr__(self) -> str:
        return f"SendResult(message_id={self.message_id!r}, reply={self.reply!r})"


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
