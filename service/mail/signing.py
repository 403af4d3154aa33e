"""Serialise a message once and, when DKIM is configured, sign exactly those bytes.

The bytes returned by ``wire_bytes`` are what every backend sends or stores: nothing
re-serialises the message after signing, so the signature covers what the receiver gets.
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

if TYPE_CHECKING:
    from config.settings import Settings

# RFC 8058 requires List-Unsubscribe and List-Unsubscribe-Post under the signature. Names
# absent from a message still go in h=: a verifier then fails if someone adds one later.
SIGNED_HEADERS: tuple[str, ...] = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "auto-submitted",
    "mime-version",
    "content-type",
)
# Listed a second time ("over-signed") so a second copy cannot be prepended unnoticed.
OVERSIGNED_HEADERS: tuple[str, ...] = ("from", "subject", "list-unsubscribe", "list-unsubscribe-post")


class DkimKeyError(ValueError):
    """The configured DKIM key cannot be read or is not an RSA private key."""


@dataclass(frozen=True)
class DkimSigner:
    """rsa-sha256, relaxed/relaxed signatures for one domain and selector."""

    domain: str
    selector: str
    private_key_pem: bytes

    def __post_init__(self) -> None:
        # Fail when the worker starts, not on the first message.
        try:
            parse_pem_private_key(self.private_key_pem)
        except UnparsableKeyError as exc:
            raise DkimKeyError(f"DKIM private key is not a PEM RSA private key: {exc}") from None

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        if not settings.dkim_enabled:
            return None
        assert settings.dkim_private_key_path is not None  # dkim_enabled checked it
        return cls(
            domain=settings.dkim_domain,
            selector=settings.dkim_selector,
            private_key_pem=read_private_key(settings.dkim_private_key_path),
        )

    def signature_header(self, data: bytes) -> bytes:
        """The ``DKIM-Signature: ...\\r\\n`` field for ``data`` (CRLF line endings)."""
        return dkim.sign(
            data,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self.private_key_pem,
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=b"rsa-sha256",
            include_headers=[h.encode("ascii") for h in SIGNED_HEADERS + OVERSIGNED_HEADERS],
            linesep=b"\r\n",
        )

    def sign(self, data: bytes) -> bytes:
        return self.signature_header(data) + data


def read_private_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"cannot read PAPERMAIL_DKIM_PRIVATE_KEY_PATH {path}: {exc.strerror}") from None


def wire_bytes(message: EmailMessage, signer: DkimSigner | None = None) -> bytes:
    """The message as sent over SMTP (CRLF line endings), DKIM-signed when a signer is given."""
    data = message.as_bytes(policy=email.policy.SMTP)
    return signer.sign(data) if signer is not None else data
