"""Serialise a message once and, when DKIM is configured, sign exactly those bytes.

The bytes returned by ``wire_bytes`` (and ``Composer.compose``) are what every backend sends or
stores: nothing re-serialises the message after signing, so the signature covers what the
receiver gets.

The signature math goes through pyca/cryptography, i.e. OpenSSL: RSA-2048 signs in ~0.3 ms of
CPU where dkimpy's pure-Python RSA took 11-18 ms; papermail's own share (parse, canonicalise,
hash the body, fold) is ~0.07 ms. ``bench/dkim_signing.py`` prints all three. Signatures are
c=relaxed/simple, as Amazon SES signs: dkimpy's relaxed *body* canonicalisation alone costs
~1.5 ms on a 40 KB digest, and our bodies gain nothing from it, being 7bit, quoted-printable or
(only towards a relay announcing 8BITMIME) 8bit, short-lined and free of trailing white space,
so that no relay has a reason to touch them.
Every field of the message is signed, and over-signed (see ``signed_header_names``).
"""

from __future__ import annotations

import base64
import email.policy
import hashlib
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from service.mail.dkim_canon import field_key, relaxed_field, signed_headers_input, simple_body_hash, split_message
from service.mail.dkim_keys import DkimKeyError, PrivateKey, read_private_key

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["DkimKeyError", "DkimSigner", "SigningKey", "wire_bytes"]

# Always in h=, present or not, so that adding one later breaks the signature: RFC 6376 5.4.1's
# list less Resent-*, plus RFC 8058's List-Unsubscribe-Post and what bulk senders' rules name.
SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from", b"sender", b"reply-to", b"to", b"cc", b"subject", b"date", b"message-id",
    b"in-reply-to", b"references", b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
    b"feedback-id", b"auto-submitted", b"mime-version", b"content-type", b"content-transfer-encoding",
)  # fmt: skip
# Fields relays add or rewrite in transit (RFC 6376 5.4). Every other field present is signed, so
# a header added to the message in the future is covered without editing a list.
UNSIGNED_HEADERS = frozenset(
    {b"return-path", b"received", b"comments", b"keywords", b"bcc", b"resent-bcc", b"dkim-signature",
     b"authentication-results", b"arc-seal", b"arc-message-signature", b"arc-authentication-results"}
)  # fmt: skip
CANONICALIZATION = b"relaxed/simple"
_FOLD_AT = 76  # RFC 5322's 78 less the CRLF
_DNS_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")
_B64_CHUNK = 64
_PKCS1V15, _SHA256 = padding.PKCS1v15(), hashes.SHA256()


@lru_cache(maxsize=256)
def signed_header_names(names: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The h= list for a header with these field names: each signed field once more than it occurs.

    A verifier picks instances bottom-up and treats the extra one as an empty field, so a copy of
    any signed field added anywhere in the header (a second From, Date or List-Id) breaks the
    signature instead of being shown beside the signed one. Cached: every digest from one
    composer has the same fields in the same order.
    """
    counts = Counter(field_key(name) for name in names)
    signed = [name for name in counts if name not in UNSIGNED_HEADERS]
    signed += [name for name in SIGNED_HEADERS if name not in counts]
    return tuple(name for name in signed for _ in range(counts[name] + 1))


def _fold(line: bytes, atoms: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Append (separator, text) atoms to ``line``, breaking before an atom that would pass 76 columns.

    A break is CRLF + space in place of the separator; every break point is one where the DKIM
    grammar allows folding white space (between tags, after h='s colons, inside base64).
    """
    out, width = [line], len(line) - line.rfind(b"\n") - 1
    for separator, text in atoms:
        if width + len(separator) + len(text) > _FOLD_AT:
            out.append(b"\r\n " + text)
            width = 1 + len(text)
        else:
            out.append(separator + text)
            width += len(separator) + len(text)
    return b"".join(out)


@dataclass(frozen=True)
class SigningKey:
    """One private key and the selector its public half is published under."""

    selector: str
    private_key: PrivateKey

    @property
    def algorithm(self) -> bytes:
        return b"rsa-sha256" if isinstance(self.private_key, rsa.RSAPrivateKey) else b"ed25519-sha256"

    def sign(self, signed_data: bytes) -> bytes:
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            return self.private_key.sign(signed_data, _PKCS1V15, _SHA256)
        # RFC 8463 3: Ed25519 (PureEdDSA) signs the SHA-256 hash of the data, not the data.
        return self.private_key.sign(hashlib.sha256(signed_data).digest())


class DkimSigner:
    """DKIM signatures for one domain, one per key: RSA, and optionally Ed25519 beside it (RFC 8463)."""

    def __init__(self, domain: str, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("a DKIM signer needs at least one key")
        # Checked here, when the worker starts: d= and s= go into every message as they are.
        for name in (domain, *(key.selector for key in keys)):
            if not _DNS_NAME.fullmatch(name):
                raise DkimKeyError(f"DKIM domain and selectors must be ASCII DNS names (IDN as punycode), not {name!r}")
        self.domain = domain
        self.keys = tuple(keys)
        # Folding the tags was a third of the signer's own cost, and v= to h= only change with
        # the message's field names (the same for every digest) and t='s width (10 digits until
        # 2286): each key's folded start is made once per (names, width), t='s digits put in after.
        self._starts: dict[tuple[int, tuple[bytes, ...], int], tuple[bytes, bytes]] = {}

    def _start(self, index: int, names: tuple[bytes, ...], width: int) -> tuple[bytes, bytes]:
        """The folded field from ``DKIM-Signature:`` to h='s end, split where t='s digits go."""
        cached = self._starts.get((index, names, width))
        if cached is None:
            key, stamp = self.keys[index], b"t=" + b"0" * width
            values = {b"v": b"1", b"a": key.algorithm, b"c": CANONICALIZATION,
                      b"d": self.domain.encode("ascii"), b"s": key.selector.encode("ascii")}
            tags = [(b" ", tag + b"=" + value + b";") for tag, value in values.items()]
            tags.append((b" ", stamp + b";"))
            # h= folds after its colons: "h=from:" then "from:", "to:", ... and the last name with ";".
            h_atoms = [name + b":" for name in names[:-1]] + [names[-1] + b";"]
            tags += [(b" ", b"h=" + h_atoms[0])] + [(b"", atom) for atom in h_atoms[1:]]
            before, after = _fold(b"DKIM-Signature:", tags).split(stamp, 1)
            if len(self._starts) >= 64:  # one entry per kind of message in practice; never unbounded
                self._starts.clear()
            cached = self._starts[(index, names, width)] = (before + b"t=", after)
        return cached

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        """None without DKIM settings; DkimKeyError (at startup, not on the first message) for a bad key."""
        if not settings.dkim_enabled:
            return None
        assert settings.dkim_private_key_path is not None  # dkim_enabled checked it
        keys = [SigningKey(settings.dkim_selector, read_private_key(settings.dkim_private_key_path))]
        if settings.dkim_ed25519_private_key_path is not None:
            setting = "PAPERMAIL_DKIM_ED25519_PRIVATE_KEY_PATH"
            ed25519 = read_private_key(settings.dkim_ed25519_private_key_path, setting=setting)
            keys.append(SigningKey(settings.dkim_ed25519_selector, ed25519))
        return cls(settings.dkim_domain, keys)

    def signature_header(self, data: bytes, timestamp: float | None = None) -> bytes:
        """The ``DKIM-Signature: ...\\r\\n`` fields for ``data`` (CRLF line endings), one per key."""
        fields, body = split_message(data)
        names = signed_header_names(tuple(name for name, _ in fields))
        # Shared by every key: the body hash and the canonical signed fields.
        body_tags = [(b" ", b"bh=" + simple_body_hash(body) + b";"), (b" ", b"b=")]
        signed = signed_headers_input(fields, names)
        digits = str(int(time.time() if timestamp is None else timestamp)).encode("ascii")
        signatures = []
        for index, key in enumerate(self.keys):
            before, after = self._start(index, names, len(digits))
            unsigned = _fold(before + digits + after, body_tags)
            # The field is hashed last, as itself with b= empty, canonicalised, without its CRLF;
            # b= is the last tag, so the relaxed form's stripped end is exactly where b= stops.
            itself = relaxed_field(b"DKIM-Signature", unsigned[len(b"DKIM-Signature:") :])
            signature = base64.b64encode(key.sign(signed + itself))
            chunks = [(b"", signature[i : i + _B64_CHUNK]) for i in range(0, len(signature), _B64_CHUNK)]
            signatures.append(_fold(unsigned, chunks) + b"\r\n")
        return b"".join(signatures)

    def sign(self, data: bytes) -> bytes:
        return self.signature_header(data) + data


def wire_bytes(message: EmailMessage, signer: DkimSigner | None = None) -> bytes:
    """The message as sent over SMTP (CRLF line endings), DKIM-signed when a signer is given."""
    data = message.as_bytes(policy=email.policy.SMTP)
    return signer.sign(data) if signer is not None else data
