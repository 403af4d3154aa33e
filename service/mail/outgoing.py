"""One call from rendered strings to the exact bytes a backend sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from typing_extensions import Unpack

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


class Composer:
    """Builds and signs messages for one configuration.

    Made once per worker (``Composer.from_settings``): the sender is parsed, its header
    lines rendered and the DKIM key read and checked once, not per recipient.
    """

    def __init__(self, sender: SenderIdentity, signer: DkimSigner | None = None) -> None:
        self.sender = sender
        self.signer = signer
        self._lines = SenderLines.of(sender)

    @classmethod
    def from_settings(cls, settings: Settings) -> Composer:
        return cls(SenderIdentity.from_settings(settings), DkimSigner.from_settings(settings))

    def compose(self, **args: Unpack[MessageArgs]) -> OutgoingMail:
        """See ``build_message`` for the arguments; raises MessageError for a refused value.

        The bytes are written directly (``wire.render``), not through EmailMessage, and signed
        as they are: ``data`` is exactly what DKIM signed.
        """
        fields = check_fields(self.sender, **args)
        data = render(self._lines, fields)
        return OutgoingMail(
            envelope_from=self.sender.envelope_from,
            to=fields.to,
            message_id=fields.message_id,
            data=self.signer.sign(data) if self.signer is not None else data,
        )
