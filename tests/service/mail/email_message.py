"""The same message built a second way, through the email package: the wire tests' yardstick.

``Composer`` writes a message's bytes directly (``service.mail.wire.render``); the tests build
it again here as an ``EmailMessage`` from the same checked fields and compare what a mail
client parses out of both, and the DKIM tests sign the stdlib's serialisation of it.
"""

from __future__ import annotations

import email.policy
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage

from typing_extensions import Unpack

from service.mail.message import MessageArgs, SenderIdentity, check_fields


class _UriListHeader(UnstructuredHeader):
    """List-Unsubscribe (RFC 2369): folded only between ``<URI>`` items, never RFC 2047-encoded.

    The default folding turns a long token into encoded-words, which mail clients do not
    decode in this header; the values here are checked ASCII, so writing them as they are is safe.
    """

    # typeshed declares fold() on BaseHeader, which UnstructuredHeader's stub does not inherit.
    def fold(self, *, policy: email.policy.Policy) -> str:  # type: ignore[override]
        items = str(self).split(", ")
        return f"{self.name}: " + f",{policy.linesep} ".join(items) + policy.linesep


def _policy() -> email.policy.EmailPolicy:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", _UriListHeader)
    # cte_type 7bit: bodies get quoted-printable/base64, as on the wire path.
    return email.policy.default.clone(header_factory=registry, cte_type="7bit")


MESSAGE_POLICY = _policy()


def build_message(sender: SenderIdentity, **args: Unpack[MessageArgs]) -> EmailMessage:
    """One message to one recipient as an EmailMessage: text part then HTML part.

    Takes what ``Composer.compose`` takes and raises MessageError for the same refused values.
    """
    fields = check_fields(sender, **args)
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = sender.from_address
    message["To"] = fields.to
    message["Subject"] = fields.subject
    message["Date"] = fields.date
    message["Message-ID"] = fields.message_id
    if sender.reply_to is not None:
        message["Reply-To"] = sender.reply_to
    if fields.list_unsubscribe is not None:
        message["List-Id"] = fields.list_id
        message["List-Unsubscribe"] = fields.list_unsubscribe
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Feedback-ID"] = fields.feedback_id
    message["Auto-Submitted"] = "auto-generated"
    if fields.delivery_id is not None:
        message["X-Papermail-Delivery"] = str(fields.delivery_id)
    message.set_content(fields.text, subtype="plain")
    message.add_alternative(fields.html, subtype="html")
    return message
