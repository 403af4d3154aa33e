"""VERP bounce addresses: ``bounces+TOKEN@BOUNCE_DOMAIN``, one per delivery (digests) or per
subscriber (transactional mail), so that a bounce says whom it is about by the address it is sent to.

TOKEN is lower-case base32 of a kind byte, the id and an 80-bit HMAC of both (about 23 characters
for ids below 16 million): opaque, short, and intact through MTAs that lower-case local parts
(base32 has one case). The HMAC key is derived from SECRET_KEY with a salt of its own, so a token
is worthless as any other signature and nobody can make one that points at a subscriber.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from config.settings import Settings

BOUNCE_LOCAL_PART = "bounces"
MAC_BYTES = 10
MAX_ID_BYTES = 8
RefKind = Literal["delivery", "subscriber"]
_KIND_BYTES: dict[RefKind, int] = {"delivery": ord("d"), "subscriber": ord("s")}
_BYTE_KINDS: dict[int, RefKind] = {value: key for key, value in _KIND_BYTES.items()}


@dataclass(frozen=True)
class BounceRef:
    """What a genuine token names: a delivery (a digest) or a subscriber (transactional mail)."""

    kind: RefKind
    id: int


def mail_from_domain(settings: Settings) -> str:
    """The domain of MAIL_FROM, lower-cased ('' when it has none)."""
    return parseaddr(settings.mail_from)[1].rpartition("@")[2].strip().lower()


def bounce_domain(settings: Settings) -> str:
    """BOUNCE_DOMAIN, or MAIL_FROM's domain when it is not set."""
    return settings.bounce_domain or mail_from_domain(settings)


@functools.lru_cache(maxsize=8)
def _key(secret_key: str) -> bytes:
    return hmac.digest(secret_key.encode(), b"papermail.verp", "sha256")


def _mac(secret_key: str, body: bytes) -> bytes:
    return hmac.digest(_key(secret_key), body, "sha256")[:MAC_BYTES]


def make_token(secret_key: str, ref: BounceRef) -> str:
    if not 0 <= ref.id < 2 ** (8 * MAX_ID_BYTES):
        raise ValueError(f"bounce token id out of range: {ref.id}")
    body = bytes([_KIND_BYTES[ref.kind]]) + ref.id.to_bytes(max(1, (ref.id.bit_length() + 7) // 8), "big")
    return base64.b32encode(body + _mac(secret_key, body)).decode("ascii").rstrip("=").lower()


def read_token(secret_key: str, token: str) -> BounceRef | None:
    """The reference a token carries, or None when it is malformed or its MAC is wrong."""
    if not token.isascii() or not token.isalnum() or len(token) > 40:
        return None
    text = token.upper()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        return None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not 2 <= len(body) <= 1 + MAX_ID_BYTES or body[0] not in _BYTE_KINDS:
        return None
    if not hmac.compare_digest(mac, _mac(secret_key, body)):
        return None
    if base64.b32encode(raw).decode("ascii").rstrip("=") != text:
        return None  # the same bytes spelled with other padding bits: only the canonical spelling
    return BounceRef(_BYTE_KINDS[body[0]], int.from_bytes(body[1:], "big"))


def split_bounce_address(address: str, domain: str) -> tuple[bool, str | None]:
    """(is one of our bounce addresses, its token or None). Compared case-insensitively."""
    local, _, at = address.strip().strip("<>").rpartition("@")
    if at.lower().rstrip(".") != domain or not local:
        return False, None
    base, plus, token = local.partition("+")
    if base.lower() != BOUNCE_LOCAL_PART:
        return False, None
    return True, (token if plus else None)


class BounceAddresses:
    """Makes and reads the bounce addresses of one configuration (made once per process)."""

    def __init__(self, secret_key: str, domain: str) -> None:
        self.secret_key = secret_key
        self.domain = domain.lower()

    @classmethod
    def from_settings(cls, settings: Settings) -> BounceAddresses:
        return cls(settings.secret_key, bounce_domain(settings))

    @property
    def plain(self) -> str:
        """The bounce address without a token (mail about nobody in particular)."""
        return f"{BOUNCE_LOCAL_PART}@{self.domain}"

    def address(self, ref: BounceRef) -> str:
        return f"{BOUNCE_LOCAL_PART}+{make_token(self.secret_key, ref)}@{self.domain}"

    def envelope_from(self, *, delivery_id: int | None = None, subscriber_id: int | None = None) -> str | None:
        """The VERP address for a digest (DELIVERY_ID) or for mail to a subscriber; None for neither."""
        if delivery_id is not None:
            return self.address(BounceRef("delivery", delivery_id))
        if subscriber_id is not None:
            return self.address(BounceRef("subscriber", subscriber_id))
        return None

    def is_ours(self, address: str) -> bool:
        return split_bounce_address(address, self.domain)[0]

    def read(self, address: str) -> BounceRef | None:
        """The genuine reference in ADDRESS, or None (not ours, no token, or a forged one)."""
        ours, token = split_bounce_address(address, self.domain)
        return read_token(self.secret_key, token) if ours and token else None
