"""Reading the machine-readable parts of a report out of a parsed message (pure).

- RFC 3464 delivery status notifications: ``multipart/report; report-type=delivery-status``, whose
  ``message/delivery-status`` part is a block of per-message fields, then one block per recipient
  (Final-Recipient, Action, Status, Diagnostic-Code);
- RFC 5965 ARF complaints: ``multipart/report; report-type=feedback-report``, whose
  ``message/feedback-report`` part carries Feedback-Type, Original-Mail-From, Original-Rcpt-To;
- the returned original (``message/rfc822`` or ``text/rfc822-headers``), whose List-Unsubscribe
  carries our own signed token.

The search for these parts never descends into an attached message: a report quoting a report
is about the outer one.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from urllib.parse import unquote

_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_MAILTO_TOKEN = re.compile(r"<mailto:[^>?]*\?(?:[^>]*&)?subject=unsubscribe-([^>&\s]+)", re.IGNORECASE)
MAX_FIELD_CHARS = 500


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of a DSN."""

    action: str  # failed | delayed | delivered | relayed | expanded (lower-cased)
    status: str | None  # "5.1.1"
    final_recipient: str | None
    original_recipient: str | None
    diagnostic: str


@dataclass(frozen=True)
class FeedbackReport:
    feedback_type: str  # abuse | fraud | virus | other | not-spam | auth-failure ... (lower-cased)
    original_mail_from: str | None
    original_rcpt_to: tuple[str, ...]


def _text(value: object) -> str:
    return " ".join(str(value).split())[:MAX_FIELD_CHARS] if value is not None else ""


def typed_value(value: object) -> str | None:
    """``rfc822; alice@example.org`` (an address-type field, RFC 3464 2.3.2) as ``alice@example.org``."""
    text = _text(value)
    if not text:
        return None
    kind, sep, rest = text.partition(";")
    address = (rest if sep else kind).strip().strip("<>").strip()
    return address or None


def status_code(value: object) -> str | None:
    match = _STATUS.match(_text(value))
    return ".".join(match.groups()) if match else None


def parts(message: Message) -> Iterator[Message]:
    """MESSAGE and its MIME parts, depth first, not entering attached messages."""
    yield message
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from parts(part)


def _part(message: Message, content_type: str) -> Message | None:
    return next((p for p in parts(message) if p.get_content_type() == content_type), None)


def _field_blocks(part: Message) -> list[Message]:
    """The blocks of fields in a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, str):  # an unparsed body: the fields as text, blocks split by blank lines
        parser = HeaderParser(policy=email.policy.compat32)
        return [parser.parsestr(block.strip() + "\n") for block in re.split(r"\r?\n\s*\r?\n", payload) if block.strip()]
    return []


def delivery_status(message: Message) -> list[RecipientStatus] | None:
    """The per-recipient blocks of a DSN; None when MESSAGE carries no delivery-status part."""
    part = _part(message, "message/delivery-status")
    if part is None:
        return None
    found = []
    for block in _field_blocks(part):
        if block.get("Action") is None and block.get("Final-Recipient") is None:
            continue  # the per-message block (Reporting-MTA, Arrival-Date)
        found.append(RecipientStatus(
            action=_text(block.get("Action")).lower(),
            status=status_code(block.get("Status")),
            final_recipient=typed_value(block.get("Final-Recipient")),
            original_recipient=typed_value(block.get("Original-Recipient")),
            diagnostic=_text(typed_value(block.get("Diagnostic-Code")) or ""),
        ))
    return found


def feedback_report(message: Message) -> FeedbackReport | None:
    part = _part(message, "message/feedback-report")
    if part is None:
        return None
    blocks = _field_blocks(part)
    if not blocks:
        return FeedbackReport("", None, ())
    fields = blocks[0]
    return FeedbackReport(
        feedback_type=_text(fields.get("Feedback-Type")).lower(),
        original_mail_from=typed_value(fields.get("Original-Mail-From")),
        original_rcpt_to=tuple(a for a in (typed_value(v) for v in fields.get_all("Original-Rcpt-To") or []) if a),
    )


def returned_headers(message: Message) -> Message | None:
    """The header of the original message a report or bounce returns, when it has one."""
    for part in parts(message):
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return inner
        elif kind == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                return HeaderParser(policy=email.policy.compat32).parsestr(text.decode("utf-8", "replace"))
    return None


def list_unsubscribe_token(headers: Message) -> str | None:
    """The token of our List-Unsubscribe mailto (``subject=unsubscribe-TOKEN``), if the header has one."""
    value = " ".join(str(v) for v in headers.get_all("List-Unsubscribe") or [])
    match = _MAILTO_TOKEN.search(" ".join(value.split()))
    return unquote(match.group(1)) if match else None
