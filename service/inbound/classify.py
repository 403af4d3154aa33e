"""A message's bytes to one ``InboundOutcome`` (pure: no database, no network).

In order: an RFC 3464 DSN (Status 5.x.x hard, 4.x.x soft, on a recipient whose Action is failed;
a delay is only a warning), an RFC 5965 ARF complaint, a mail whose subject carries our
``unsubscribe-TOKEN`` (RFC 8058's mailto), then any other bounce flufl.bounce recognises
(permanent hard, temporary soft). Anything else is ``unknown``.

Who it is about comes from what we signed first: the VERP token of the address it was sent to
(the envelope recipients, or for a fetched mailbox the Delivered-To/X-Original-To/To headers), the
report's Original-Mail-From, the unsubscribe token in the returned message's List-Unsubscribe.
Only when none is there does the report's own address (Final-Recipient, Original-Rcpt-To, the
address flufl.bounce found) count. A bounce address with a token we never made means a forgery:
the message changes nothing, whatever its report says.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from typing import TYPE_CHECKING

from flufl.bounce import all_failures

from service.inbound.addresses import InboundAddresses
from service.inbound.outcome import About, InboundOutcome, Kind, Source
from service.inbound.reports import (
    RecipientStatus,
    delivery_status,
    feedback_report,
    list_unsubscribe_token,
    returned_headers,
)
from service.subscribers.tokens import InvalidToken, read_token

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)

# Headers a mailbox provider leaves naming the address a fetched message was delivered to.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})
# RFC 3463 X.2.2, mailbox full: reported as permanent by many servers, but it clears by itself.
SOFT_PERMANENT_STATUSES = frozenset({"5.2.2"})
_UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe-([A-Za-z0-9_.\-]+)", re.IGNORECASE)
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class Verifier:
    """What classify needs of the configuration: our addresses and the token keys."""

    addresses: InboundAddresses
    settings: Settings

    @classmethod
    def from_settings(cls, settings: Settings) -> Verifier:
        return cls(InboundAddresses.from_settings(settings), settings)

    def unsubscribe_token(self, token: str, via: str) -> About | None:
        try:
            data = read_token(self.settings, "unsubscribe", token)
        except InvalidToken:
            return None
        return About("mailto" if via == "mailto" else "list-unsubscribe",
                     subscriber_id=data.subscriber_id, token_version=data.version)


@dataclass(frozen=True)
class Signed:
    """The signed evidence in a message: who (if anyone), and whether a forged token was seen."""

    about: About | None
    forged: bool


def _reason(*pieces: str | None) -> str:
    return " ".join(" ".join(p for p in pieces if p).split())[:MAX_REASON_CHARS]


def subject_of(message: Message) -> str:
    """The Subject, RFC 2047 encoded words decoded, on one line."""
    raw = message.get("Subject")
    if raw is None:
        return ""
    try:
        text = str(make_header(decode_header(str(raw))))
    except (ValueError, LookupError, UnicodeError):
        text = str(raw)
    return " ".join(text.split())


def _header_addresses(message: Message, names: Iterable[str]) -> list[str]:
    values = [str(v) for name in names for v in message.get_all(name) or []]
    return [address for _, address in getaddresses(values) if address]


def signed_evidence(message: Message, recipients: Sequence[str], verifier: Verifier,
                    extra_addresses: Sequence[str] = ()) -> Signed:
    """The first genuine VERP token among the envelope RECIPIENTS, the recipient headers and
    EXTRA_ADDRESSES (ARF's Original-Mail-From), else the returned message's unsubscribe token."""
    forged = False
    candidates = [*recipients, *extra_addresses, *_header_addresses(message, RECIPIENT_HEADERS)]
    for address in candidates:
        route = verifier.addresses.route(address)
        if route == "forged":
            forged = True
        elif route == "bounce":
            ref = verifier.addresses.bounces.read(address)
            if ref is not None and ref.kind == "delivery":
                return Signed(About("verp", delivery_id=ref.id), forged)
            if ref is not None:
                return Signed(About("verp", subscriber_id=ref.id), forged)
    returned = returned_headers(message)
    token = list_unsubscribe_token(returned) if returned is not None else None
    about = verifier.unsubscribe_token(token, "list-unsubscribe") if token else None
    return Signed(about, forged)


def _dsn_kind(blocks: Sequence[RecipientStatus]) -> tuple[Kind, RecipientStatus | None, str]:
    failed = [b for b in blocks if b.action == "failed"]
    hard = [b for b in failed if (b.status or "5").startswith("5") and b.status not in SOFT_PERMANENT_STATUSES]
    if hard:
        return "hard", hard[0], ""
    if failed:
        return "soft", failed[0], ""
    actions = sorted({b.action or "none" for b in blocks}) or ["none"]
    if "delayed" in actions:
        return "unknown", None, "delivery delayed, not failed yet"
    return "unknown", None, f"the report shows no failure (action: {', '.join(actions)})"


def _outcome(kind: Kind, source: Source, reason: str, signed: Signed, fallback: About | None) -> InboundOutcome:
    if signed.about is None and signed.forged:
        return InboundOutcome("unknown", source, f"sent to a forged bounce address; ignored ({reason})")
    return InboundOutcome(kind, source, reason, signed.about or fallback)


def classify_dsn(message: Message, blocks: Sequence[RecipientStatus], recipients: Sequence[str],
                 verifier: Verifier) -> InboundOutcome:
    kind, block, why = _dsn_kind(blocks)
    signed = signed_evidence(message, recipients, verifier)
    if block is None:
        return InboundOutcome("unknown", "dsn", why, signed.about)
    reason = _reason(block.status, block.diagnostic) or "failed"
    address = block.final_recipient or block.original_recipient
    fallback = About("final-recipient", address=address) if address else None
    return _outcome(kind, "dsn", reason, signed, fallback)


def classify_arf(message: Message, recipients: Sequence[str], verifier: Verifier) -> InboundOutcome:
    report = feedback_report(message)
    assert report is not None
    mail_from = [report.original_mail_from] if report.original_mail_from else []
    signed = signed_evidence(message, recipients, verifier, mail_from)
    reason = _reason("complaint", report.feedback_type or "(no Feedback-Type)")
    if report.feedback_type not in COMPLAINT_TYPES:
        return InboundOutcome("unknown", "arf", f"feedback report of type {report.feedback_type!r} is no complaint",
                              signed.about)
    fallback = None
    if report.original_rcpt_to:
        fallback = About("original-rcpt-to", address=report.original_rcpt_to[0])
    else:
        returned = returned_headers(message)
        to = _header_addresses(returned, ["To"]) if returned is not None else []
        fallback = About("original-rcpt-to", address=to[0]) if to else None
    return _outcome("complaint", "arf", reason, signed, fallback)


def classify_unsubscribe(message: Message, verifier: Verifier) -> InboundOutcome | None:
    match = _UNSUBSCRIBE_SUBJECT.search(subject_of(message))
    if match is None:
        return None
    about = verifier.unsubscribe_token(match.group(1), "mailto")
    if about is None:
        return InboundOutcome("unknown", "mailto", "the unsubscribe token in the subject is not valid")
    return InboundOutcome("unsubscribe", "mailto", "unsubscribe by mail (RFC 8058 mailto)", about)


def classify_other_bounce(message: Message, recipients: Sequence[str], verifier: Verifier) -> InboundOutcome | None:
    temporary, permanent = all_failures(message)
    if not temporary and not permanent:
        return None
    kind: Kind = "hard" if permanent else "soft"
    found = sorted(a.decode("utf-8", "replace") for a in (permanent or temporary))
    fallback = About("bounce-text", address=found[0]) if found else None
    reason = "permanent failure" if permanent else "temporary failure"
    subject = _reason(subject_of(message))
    return _outcome(kind, "bounce", _reason(reason, f"({subject})" if subject else None),
                    signed_evidence(message, recipients, verifier), fallback)


def parse_message(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=email.policy.compat32)


def classify(data: bytes, recipients: Sequence[str], verifier: Verifier) -> InboundOutcome:
    """What DATA, delivered to RECIPIENTS (empty for a fetched mailbox), means; never raises."""
    try:
        message = parse_message(data)
        blocks = delivery_status(message)
        if blocks is not None:
            return classify_dsn(message, blocks, recipients, verifier)
        if feedback_report(message) is not None:
            return classify_arf(message, recipients, verifier)
        found = classify_unsubscribe(message, verifier) or classify_other_bounce(message, recipients, verifier)
    except Exception as exc:  # hostile input must not stop the receiver; the message is logged as unknown
        log.warning("inbound message could not be read: %s: %s", type(exc).__name__, exc)
        return InboundOutcome("unknown", "none", _reason("unreadable message:", type(exc).__name__, str(exc)))
    if found is not None:
        return found
    return InboundOutcome("unknown", "none", "neither a bounce, a complaint nor an unsubscribe request")
