"""Check one outgoing email's values: the headers bulk senders need, nothing unsafe in them.

Everything that reaches a header passes through here and is checked: a value with a line
break or control character is refused (``MessageError``), never folded into the message,
and recipient addresses are validated with email-validator. The caller gets the checked
``MessageFields`` that ``wire.render`` writes straight to bytes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import TYPE_CHECKING, Required, TypedDict
from urllib.parse import quote, urlsplit

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

if TYPE_CHECKING:
    from config.settings import Settings

# Every character str.splitlines() breaks on, plus the other C0 controls and DEL. The email
# package of Python < 3.11.10 folds on U+2028 & co. (CVE-2024-6923), so they are refused too.
_FORBIDDEN_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
# RFC 3986 characters minus the comma, which would split the List-Unsubscribe list.
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+;=%]+")
_KIND = re.compile(r"[a-z][a-z0-9-]{0,30}")
MAX_URL_LENGTH = 900  # a header line must stay under SMTP's 998
# Mail streams: providers judge digests and account mail (confirm, welcome, "already", new links)
# apart, so a bad day for one cannot sink the other. Each has its own List-Id and Feedback-ID.
DIGEST_STREAM, TRANSACTIONAL_STREAM = "digests", "transactional"


class MessageError(ValueError):
    """A header value or address was refused; no message was built."""


def clean_header_value(name: str, value: str) -> str:
    """Strip surrounding whitespace; refuse line breaks and control characters inside."""
    value = value.strip()
    if _FORBIDDEN_IN_HEADER.search(value):
        raise MessageError(f"{name} contains a line break or control character: {value[:60]!r}")
    return value


@lru_cache(maxsize=4096)
def _checked_domain(domain: str, allow_test_domains: bool) -> tuple[str, int] | None:
    """email_validator's verdict on DOMAIN alone: its ASCII form and the longest UTF-8 length of
    its forms, or None when refused. Most of validate_email's cost is the domain's (IDNA mapping
    character by character), and a list has few domains: cached per process."""
    try:
        checked = validate_email(f"x@{domain}", check_deliverability=False, allow_smtputf8=False,
                                 test_environment=allow_test_domains)  # fmt: skip
    except EmailNotValidError:
        return None
    return checked.ascii_domain, max(len(checked.domain.encode()), len(checked.ascii_domain))


def validate_recipient(address: str, *, allow_test_domains: bool = False) -> str:
    """The normalised ASCII form of ``address``, or MessageError saying what is wrong with it.

    An ASCII dot-atom local part before a domain already checked gives what validate_email
    would (~1.5 µs instead of ~28): its local-part rules for a dot-atom end there, and a domain's
    verdict does not depend on the local part, only the total length, checked here as it checks
    it. Anything else, and every refusal, goes through validate_email itself.
    """
    address = clean_header_value("recipient address", address)
    local, at, domain = address.rpartition("@")
    if at and DOT_ATOM_TEXT.fullmatch(local) and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES:
        checked = _checked_domain(domain, allow_test_domains)
        if checked is not None and max(len(address.encode()), len(local) + 1 + checked[1]) <= EMAIL_MAX_LENGTH:
            return f"{local}@{checked[0]}"
    try:
        # No SMTPUTF8: an internationalised domain becomes punycode, a non-ASCII local part
        # is refused, so every message stays plain ASCII on the wire.
        result = validate_email(
            address,
            check_deliverability=False,
            allow_smtputf8=False,
            test_environment=allow_test_domains,
        )
    except EmailNotValidError as exc:
        raise MessageError(f"invalid recipient address {address!r}: {exc}") from None
    return result.ascii_email or result.normalized


def parse_sender(value: str, setting: str) -> Address:
    """A configured sender (``Name <addr@domain>``) as an Address; the setting is named on error."""
    value = clean_header_value(setting, value)
    name, addr = parseaddr(value)
    local, _, domain = addr.rpartition("@")
    if not local or "." not in domain or not addr.isascii() or " " in addr:
        raise MessageError(f"{setting} is not an address like 'Name <user@example.com>': {value!r}")
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise MessageError(f"{setting} is not a valid address: {value!r} ({exc})") from None


@dataclass(frozen=True)
class SenderIdentity:
    """Who our mail is from: parsed once from Settings, shared by every message."""

    from_address: Address
    reply_to: Address | None = None
    # .test addresses pass validation outside production (tests and demos use them).
    allow_test_domains: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderIdentity:
        reply_to = settings.mail_reply_to.strip()
        return cls(
            from_address=parse_sender(settings.mail_from, "PAPERMAIL_MAIL_FROM"),
            reply_to=parse_sender(reply_to, "PAPERMAIL_MAIL_REPLY_TO") if reply_to else None,
            allow_test_domains=settings.environment != "production",
        )

    @property
    def domain(self) -> str:
        return self.from_address.domain.lower()

    @property
    def envelope_from(self) -> str:
        """The SMTP MAIL FROM (bounce) address."""
        return self.from_address.addr_spec


def make_message_id(key: str, domain: str, *, kind: str = "digest", delivery_id: int | None = None) -> str:
    """A Message-ID that depends only on its inputs: a retried send repeats the same id,
    so receivers that de-duplicate on it show the digest once."""
    digest = hashlib.sha256(f"{kind}\0{key}".encode()).hexdigest()[:20]
    middle = f"{kind}.{delivery_id}.{digest}" if delivery_id is not None else f"{kind}.{digest}"
    return f"<{middle}@{domain}>"


def _check_url(url: str) -> str:
    url = clean_header_value("unsubscribe URL", url)
    if len(url) > MAX_URL_LENGTH or not _SAFE_URL.fullmatch(url) or not urlsplit(url).netloc:
        raise MessageError(f"unsubscribe URL is not a plain absolute http(s) URL: {url[:80]!r}")
    return url


@dataclass(frozen=True)
class Unsubscribe:
    """How a reader leaves a list: the one-click URL and its token, which the mailto carries alone."""

    url: str
    token: str


def list_unsubscribe_value(url: str, token: str, domain: str) -> str:
    """``<https://…/unsubscribe/TOKEN>, <mailto:unsubscribe@DOMAIN?subject=unsubscribe-TOKEN>``."""
    subject = quote(f"unsubscribe-{token}", safe="")
    return f"<{_check_url(url)}>, <mailto:unsubscribe@{domain}?subject={subject}>"


def stream_of(kind: str) -> str:
    return DIGEST_STREAM if kind == "digest" else TRANSACTIONAL_STREAM


def list_id_value(kind: str, domain: str) -> str:
    """RFC 2919 List-Id: ``papermail digest <digest.DOMAIN>`` (unchanged since the first release,
    readers' filters use it) or ``papermail transactional <transactional.DOMAIN>``."""
    name = "digest" if stream_of(kind) == DIGEST_STREAM else TRANSACTIONAL_STREAM
    return f"papermail {name} <{name}.{domain}>"


def feedback_id_value(kind: str, domain: str) -> str:
    """Gmail's ``Feedback-ID: a:b:c:SenderId``: the kind, its stream, the product, then the sending
    domain as the constant SenderId, so Postmaster Tools reports spam rates per kind and stream."""
    return f"{kind}:{stream_of(kind)}:papermail:{domain}"


def _normalise_newlines(body: str) -> str:
    # The test first: str.replace of a two-character needle costs ~30 µs on a 25 KB non-ASCII
    # string even when it finds nothing, a one-character search well under one (measured).
    if "\r" not in body:
        return body
    return body.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class MessageFields:
    """One message's values after every check: safe to write into headers as they are."""

    to: str
    subject: str
    date: str  # RFC 5322 date-time in UTC
    message_id: str
    kind: str
    list_unsubscribe: str | None  # the List-Unsubscribe value; None for transactional mail
    list_id: str | None  # with list_unsubscribe only
    feedback_id: str
    delivery_id: int | None
    text: str
    html: str


class MessageArgs(TypedDict, total=False):
    """What a caller says about one message (``check_fields`` documents and checks each)."""

    to_address: Required[str]
    subject: Required[str]
    text: Required[str]
    html: Required[str]
    message_key: Required[str]
    unsubscribe: Unsubscribe | None
    delivery_id: int | None
    kind: str
    date: datetime | None


def check_fields(
    sender: SenderIdentity,
    *,
    to_address: str,
    subject: str,
    text: str,
    html: str,
    message_key: str,
    unsubscribe: Unsubscribe | None = None,
    delivery_id: int | None = None,
    kind: str = "digest",
    date: datetime | None = None,
) -> MessageFields:
    """Validate and normalise one message's arguments; MessageError for a refused value.

    ``message_key`` makes the Message-ID (same key, same id). With ``unsubscribe`` the message
    is list mail: List-Id, List-Unsubscribe (URL and a mailto carrying the token) and the
    RFC 8058 one-click header are added.
    """
    if not _KIND.fullmatch(kind):
        raise MessageError(f"message kind must be a lowercase word, got {kind!r}")
    subject = clean_header_value("subject", subject)
    if not subject:
        raise MessageError("subject is empty")
    to = validate_recipient(to_address, allow_test_domains=sender.allow_test_domains)
    when = date or datetime.now(UTC)
    if when.tzinfo is None:
        raise MessageError("message date must be timezone-aware")
    list_unsubscribe = None
    if unsubscribe is not None:
        token = clean_header_value("unsubscribe token", unsubscribe.token)
        if not token:
            raise MessageError("unsubscribe token is empty")
        list_unsubscribe = list_unsubscribe_value(unsubscribe.url, token, sender.domain)
    return MessageFields(
        to=to,
        subject=subject,
        date=format_datetime(when.astimezone(UTC)),
        message_id=make_message_id(message_key, sender.domain, kind=kind, delivery_id=delivery_id),
        kind=kind,
        list_unsubscribe=list_unsubscribe,
        list_id=list_id_value(kind, sender.domain) if list_unsubscribe is not None else None,
        feedback_id=feedback_id_value(kind, sender.domain),
        delivery_id=int(delivery_id) if delivery_id is not None else None,
        text=_normalise_newlines(text),
        html=_normalise_newlines(html),
    )


# A Message-ID header at the start of a line, with any folded continuation lines.
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:((?:[^\r\n]|\r?\n[ \t])*)", re.IGNORECASE | re.MULTILINE)


def message_id_of(data: bytes) -> str | None:
    """The Message-ID header of serialised message bytes, read from the header block only.

    A scan, not ``email.message_from_bytes``: every send asks, and parsing the headers of a
    signed digest cost more than writing the whole message."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        end = data.find(b"\n\n")
    head = data if end < 0 else data[: end + 1]
    # The anchored regex tried at every position of the header cost ~9 µs a send; a plain find
    # over the lowercased header leads it to the candidate lines only.
    lowered = b"\n" + head.lower()
    at = lowered.find(b"\nmessage-id")
    while at >= 0:
        found = _MESSAGE_ID.match(head, at)  # lowered[at] is the "\n" before head[at]
        if found is not None:
            value = " ".join(found.group(1).decode("utf-8", "replace").split())
            return value or None
        at = lowered.find(b"\nmessage-id", at + 1)
    return None
