"""DKIM keys: read, make, and the DNS TXT record that publishes their public half.

RSA (rsa-sha256, RFC 6376/8301) and Ed25519 (ed25519-sha256, RFC 8463), both through pyca/cryptography,
i.e. OpenSSL. Used by the signer (``signing.DkimSigner``) and by ``papermail dkim keygen``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
KeyType = Literal["rsa", "ed25519"]

# RFC 8301: signers MUST NOT use keys below 1024 bits and SHOULD use at least 2048. We sign with
# what an operator already publishes (down to 1024) but only ever make 2048 or more.
MIN_SIGNING_BITS = 1024
MIN_NEW_RSA_BITS = 2048
# Larger keys sign slowly (4096: ~7x the cost of 2048) and strain DNS providers' TXT handling.
MAX_NEW_RSA_BITS = 4096
TXT_STRING_LIMIT = 255  # one <character-string> in a DNS TXT record (RFC 1035 3.3)


class DkimKeyError(ValueError):
    """The DKIM configuration cannot sign: the key is unreadable or unusable, or a name is not a DNS name."""


def parse_private_key(pem: bytes, *, source: str = "DKIM private key") -> PrivateKey:
    """A PEM private key (PKCS#1 or PKCS#8, unencrypted) as a signing key, or DkimKeyError."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:  # cryptography's way of saying "encrypted, and no password given"
        raise DkimKeyError(f"{source} is encrypted; the worker needs it unencrypted (and mode 0600)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise DkimKeyError(f"{source} is not a PEM RSA or Ed25519 private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_SIGNING_BITS:
            raise DkimKeyError(f"{source} is a {key.key_size}-bit RSA key; DKIM needs at least {MIN_SIGNING_BITS}")
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise DkimKeyError(f"{source} is a {type(key).__name__}; DKIM signs with RSA or Ed25519 keys only")


def read_private_key(path: Path, *, setting: str = "PAPERMAIL_DKIM_PRIVATE_KEY_PATH") -> PrivateKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"cannot read {setting} {path}: {exc.strerror}") from None
    return parse_private_key(pem, source=f"{setting} {path}")


def key_type(key: PrivateKey) -> KeyType:
    return "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ed25519"


def key_bits(key: PrivateKey) -> int:
    return key.key_size if isinstance(key, rsa.RSAPrivateKey) else 256


def generate_key(kind: KeyType = "rsa", bits: int = MIN_NEW_RSA_BITS) -> PrivateKey:
    """A new key; RSA sizes outside MIN_NEW_RSA_BITS..MAX_NEW_RSA_BITS are a ValueError."""
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if not MIN_NEW_RSA_BITS <= bits <= MAX_NEW_RSA_BITS:
        raise ValueError(f"RSA keys are made with {MIN_NEW_RSA_BITS} to {MAX_NEW_RSA_BITS} bits, not {bits}")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_pem(key: PrivateKey) -> bytes:
    pkcs8 = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())


def public_key_b64(key: PrivateKey) -> str:
    """The p= value: DER SubjectPublicKeyInfo for RSA (RFC 6376 3.6.1), the raw 32 bytes for Ed25519 (RFC 8463 4.2)."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        der = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(der).decode("ascii")


def txt_record_value(key: PrivateKey) -> str:
    return f"v=DKIM1; k={key_type(key)}; p={public_key_b64(key)}"


def txt_record_line(key: PrivateKey, selector: str, domain: str) -> str:
    """``SELECTOR._domainkey.DOMAIN IN TXT "..." "..."``: the value cut into 255-octet strings.

    A 2048-bit key's record is ~410 octets, longer than one DNS character-string; a zone file
    (and most DNS providers' forms) take consecutive quoted strings, which verifiers join.
    """
    value = txt_record_value(key)
    strings = [value[i : i + TXT_STRING_LIMIT] for i in range(0, len(value), TXT_STRING_LIMIT)]
    return f"{selector}._domainkey.{domain} IN TXT " + " ".join(f'"{s}"' for s in strings)
