"""One call from rendered strings to the exact bytes a backend sends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from service.inbound.verp import BounceAddresses
from service.mail.message import MessageArgs, SenderIdentity, check_fields
from service.mail.signing import DkimSigner
from service.mail.wire import SenderLines, render

if TYPE_CHECKING:
    from config.settings import Settings


@dataclass(frozen=True)
class OutgoingMail:
    """A finished message: hand ``envelope_from, to, data`` to ``MailBackend.send``."""

    envelope_from: str
    to: str
    message_id: str
    data: bytes


def never() -> bool:
    return False


class Composer:
    """Builds and signs messages for one configuration.

    Made once per worker (``Composer.from_settings``): the sender is parsed, its header
    lines rendered and the DKIM key read and checked once, not per recipient.

    ``takes_8bit`` says, at each message, whether the relay it is about to go to announced
    8BITMIME (``SmtpBackend.takes_8bit``; the toolkit connects the two): then a non-ASCII text
    part goes as 8bit instead of quoted-printable. The message is signed as composed, so the
    decision has to be made here, not by the backend.
    """

    def __init__(self, sender: SenderIdentity, signer: DkimSigner | None = None,
                 bounces: BounceAddresses | None = None, *, takes_8bit: Callable[[], bool] = never) -> None:
        self.sender = sender
        self.signer = signer
        # VERP: with it, a digest's MAIL FROM is its own bounce address (service.inbound.verp).
        self.bounces = bounces
        self.takes_8bit = takes_8bit
        self._lines = SenderLines.of(sender)

    @classmethod
    def from_settings(cls, settings: Settings, *, takes_8bit: Callable[[], bool] = never) -> Composer:
        return cls(SenderIdentity.from_settings(settings), DkimSigner.from_settings(settings),
                   BounceAddresses.from_settings(settings), takes_8bit=takes_8bit)

    def compose(self, *, subscriber_id: int | None = None, **args: Unpack[MessageArgs]) -> OutgoingMail:
        """See ``build_message`` for the arguments; raises MessageError for a refused value.

        The envelope sender is the VERP bounce address of ``delivery_id`` (a digest), else of
        ``subscriber_id`` (transactional mail), else MAIL_FROM's address.

        The bytes are written directly (``wire.render``), not through EmailMessage, and signed
        as they are: ``data`` is exactly what DKIM signed.
        """
        fields = check_fields(self.sender, **args)
        data = render(self._lines, fields, eight_bit=self.takes_8bit())
        verp = None
        if self.bounces is not None:
            verp = self.bounces.envelope_from(delivery_id=fields.delivery_id, subscriber_id=subscriber_id)
        return OutgoingMail(
            envelope_from=verp or self.sender.envelope_from,
            to=fields.to,
            message_id=fields.message_id,
            data=self.signer.sign(data) if self.signer is not None else data,
        )
