"""The one rule for a subscriber's address: accept exactly what the mail path can deliver.

Every way in (the sign-up form, address changes, the CLI, CSV import, the JSON API, admin
edits) reaches this through ``service.subscribers.store.normalise_email``. The mail path
(``service.mail.message.validate_recipient``) writes plain ASCII on the wire, without
SMTPUTF8: an internationalised *domain* is delivered as punycode (``user@xn--mnchen-3ya.de``),
but a non-ASCII *local part* (``josé@…``) cannot be sent at all, so it is refused here, in
words, instead of becoming a pending row whose confirmation never arrives.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

# RFC 5321's limit on a forward path; email-validator checks it too, this keeps messages short.
MAX_ADDRESS_CHARS = 254


class AddressRefused(ValueError):
    """The address cannot be a subscriber's: the message says why, in words, for a person."""


def deliverable_address(raw: str) -> str:
    """RAW as stored: syntax checked, domain normalised (Unicode form, the wire gets punycode),
    lower-cased whole (one row per mailbox for every real provider). Raises AddressRefused."""
    address = raw.strip()
    if not address:
        raise AddressRefused("an email address is needed")
    if len(address) > MAX_ADDRESS_CHARS:
        raise AddressRefused("that is longer than any email address can be")
    local, at, _ = address.rpartition("@")
    if at and not local.isascii():
        odd = "".join(dict.fromkeys(ch for ch in local if not ch.isascii()))
        raise AddressRefused(
            f"{address!r} has characters papermail cannot send to before the @ ({odd}); "
            "use an address whose part before the @ is plain ASCII"
        )
    try:
        # The same switches as the mail path: no SMTPUTF8, no quoted local parts.
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressRefused(f"{address!r} is not a valid address ({exc})") from None
    return checked.normalized.lower()


def wire_form(stored: str) -> str:
    """The ASCII form the mail path sends to (IDN domain as punycode); for display and tests."""
    checked = validate_email(stored, check_deliverability=False, allow_smtputf8=False)
    return checked.ascii_email or checked.normalized
