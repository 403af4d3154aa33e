"""Signed tokens in links, one key per purpose, so a token made for one page is worthless on
another. Confirmation tokens expire; the others do not but are revocable: each carries the
subscriber's ``token_version``, and bumping it ("send me a new link") voids them all.

A digest carries five tokened links and two vote links per paper, so the tokens that do not
expire are one keyed BLAKE2s MAC each: ``<subscriber>.<version>[.<name><int>...].<mac>``
(``42.3.d7.<mac>``), about 1 µs to make against ~3 µs for the HMAC-SHA256 they had before and
~40 µs for an itsdangerous token (JSON, zlib, a timestamp). The MAC is 96 bits (16 base64
characters): far beyond guessing online, and 6 bytes less per link, 20 vote links a digest.
Confirmation tokens (they carry an address and an age) stay itsdangerous ones.
Vote links are compact too (``<subscriber>.<version>.<paper>.<u|d>.<mac>``) under a key of their own.

Links in mails already sent keep working. The reader tells the forms apart by their shape:
itsdangerous (its payload is base64 of JSON, ``ey...``, never a run of digits), and, among the
compact ones, the MAC's length: 22 characters is the HMAC-SHA256 form (128 bits, before
2026-12), 16 the BLAKE2s one. Each is checked with its own algorithm and key.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from config.settings import Settings

Purpose = Literal["confirm", "preferences", "unsubscribe", "feed", "digest", "archive"]
PURPOSES: tuple[Purpose, ...] = ("confirm", "preferences", "unsubscribe", "feed", "digest", "archive")


class InvalidToken(Exception):
    """Forged, tampered, for another purpose, or revoked."""


class ExpiredToken(InvalidToken):
    """Genuine but too old (confirmation links)."""


@dataclass(frozen=True)
class TokenData:
    subscriber_id: int
    version: int
    extra: dict[str, Any]


def _serializer(settings: Settings, purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=f"papermail.{purpose}")


@functools.lru_cache(maxsize=32)
def _purpose_key(secret_key: str, purpose: Purpose) -> bytes:
    # The HMAC-SHA256 key of links sent before the BLAKE2s form (read, no longer made). Here and
    # below, a salt per purpose is what makes a token void on another page.
    return hmac.digest(secret_key.encode(), f"papermail.link.{purpose}".encode(), "sha256")


MAC_BYTES = 12  # 96 bits; a multiple of 3, so its base64 has no padding
MAC_CHARS = 16
OLD_MAC_CHARS = 22  # HMAC-SHA256 cut to 128 bits, in links sent before the BLAKE2s form
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(mac: bytes) -> str:
    return binascii.b2a_base64(mac, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def _blake_mac(signer: hashlib.blake2s, payload: str) -> str:
    # SIGNER is keyed once per (secret, purpose); a copy of it skips the keyed first block.
    signer = signer.copy()
    signer.update(payload.encode())
    return _b64(signer.digest())


def _old_mac(key: bytes, payload: str) -> str:
    return _b64(hmac.digest(key, payload.encode(), "sha256")[:16])


@functools.lru_cache(maxsize=32)
def _purpose_signer(secret_key: str, purpose: Purpose) -> hashlib.blake2s:
    # A key of its own for the BLAKE2s MAC: no key serves two algorithms.
    key = hmac.digest(secret_key.encode(), f"papermail.link-b2s.{purpose}".encode(), "sha256")
    return hashlib.blake2s(key=key, digest_size=MAC_BYTES)


def _link_mac(secret_key: str, purpose: Purpose, payload: str) -> str:
    return _blake_mac(_purpose_signer(secret_key, purpose), payload)


def _mac_matches(mac: str, signer: hashlib.blake2s, old_key: Callable[[], bytes], payload: str) -> bool:
    """MAC checked by the algorithm its length names: BLAKE2s (today) or HMAC-SHA256 (older mails)."""
    if len(mac) == MAC_CHARS:
        expected = _blake_mac(signer, payload)
    elif len(mac) == OLD_MAC_CHARS:
        expected = _old_mac(old_key(), payload)
    else:
        return False
    return hmac.compare_digest(mac.encode(), expected.encode())


def _compact_extra(extra: dict[str, Any]) -> bool:
    return all(len(k) == 1 and k.isascii() and k.isalpha() and type(v) is int and v >= 0 for k, v in extra.items())


def make_token(settings: Settings, purpose: Purpose, subscriber_id: int, version: int, **extra: Any) -> str:
    if purpose == "confirm" or not _compact_extra(extra):
        return _serializer(settings, purpose).dumps({"s": subscriber_id, "v": version, **extra})
    payload = ".".join([str(subscriber_id), str(version), *(f"{k}{v}" for k, v in sorted(extra.items()))])
    return f"{payload}.{_link_mac(settings.secret_key, purpose, payload)}"


def _digits(part: str) -> bool:
    return part.isascii() and part.isdigit() and len(part) <= 18


def _read_compact(settings: Settings, purpose: Purpose, token: str) -> TokenData:
    payload, _, mac = token.rpartition(".")
    parts = payload.split(".")
    extras = parts[2:]
    if (purpose == "confirm" or len(parts) < 2 or not all(_digits(p) for p in parts[:2])
            or not all(len(p) >= 2 and p[0].isascii() and p[0].isalpha() and _digits(p[1:]) for p in extras)
            or not _mac_matches(mac, _purpose_signer(settings.secret_key, purpose),
                                lambda: _purpose_key(settings.secret_key, purpose), payload)):
        raise InvalidToken("this link is not valid")
    extra = {p[0]: int(p[1:]) for p in extras}
    if len(extra) != len(extras):
        raise InvalidToken("this link is not valid")
    return TokenData(int(parts[0]), int(parts[1]), extra)


def read_token(settings: Settings, purpose: Purpose, token: str) -> TokenData:
    """Check the signature (and, for confirmations, the age); revocation is the caller's check.
    Both forms are read: compact (``make_token`` today) and itsdangerous (older mails, confirm)."""
    if token[:1].isdigit():  # compact; an itsdangerous token starts with base64 of '{'
        return _read_compact(settings, purpose, token)
    max_age = settings.confirm_token_max_age_hours * 3600 if purpose == "confirm" else None
    try:
        data = _serializer(settings, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ExpiredToken("this link has expired") from None
    except BadSignature:
        raise InvalidToken("this link is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int) or not isinstance(data.get("v"), int):
        raise InvalidToken("this link is not valid")
    return TokenData(data.pop("s"), data.pop("v"), data)


def token_url(settings: Settings, purpose: Purpose, token: str) -> str:
    """The absolute URL of the tokened page TOKEN opens: BASE_URL/<purpose>/<token>."""
    return f"{settings.base_url}/{purpose}/{token}"


def link(settings: Settings, purpose: Purpose, subscriber_id: int, version: int, **extra: Any) -> str:
    """The absolute URL of a tokened page, with a fresh token."""
    return token_url(settings, purpose, make_token(settings, purpose, subscriber_id, version, **extra))


def compact_links(settings: Settings, subscriber_id: int, version: int, purposes: tuple[Purpose, ...],
                  **extra: int) -> list[str]:
    """``link(settings, purpose, subscriber_id, version, **extra)`` for each of PURPOSES (none of them
    "confirm"; EXTRA as ``make_token``'s compact form takes it: one-letter names, ints >= 0), the
    same strings made without the layers of calls around each MAC (a digest makes five)."""
    if "confirm" in purposes or not _compact_extra(extra):
        return [link(settings, purpose, subscriber_id, version, **extra) for purpose in purposes]
    payload = ".".join([str(subscriber_id), str(version), *(f"{k}{v}" for k, v in sorted(extra.items()))])
    data, secret, base = payload.encode(), settings.secret_key, settings.base_url
    urls = []
    for purpose in purposes:
        signer = _purpose_signer(secret, purpose).copy()
        signer.update(data)
        urls.append(f"{base}/{purpose}/{payload}.{_b64(signer.digest())}")
    return urls


@dataclass(frozen=True)
class VoteTokenData:
    subscriber_id: int
    version: int
    paper_id: int
    value: int  # +1 more like this, -1 less like this


@functools.lru_cache(maxsize=8)
def _vote_key(secret_key: str) -> bytes:
    # The HMAC key of vote links sent before the BLAKE2s form. Both vote keys have salts of their
    # own: a vote MAC is useless as any other signature.
    return hmac.digest(secret_key.encode(), b"papermail.vote", "sha256")


@functools.lru_cache(maxsize=8)
def _vote_signer(secret_key: str) -> hashlib.blake2s:
    key = hmac.digest(secret_key.encode(), b"papermail.vote-b2s", "sha256")
    return hashlib.blake2s(key=key, digest_size=MAC_BYTES)


def _vote_mac(secret_key: str, payload: str) -> str:
    return _blake_mac(_vote_signer(secret_key), payload)


def make_vote_token(settings: Settings, subscriber_id: int, version: int, paper_id: int, value: int) -> str:
    payload = f"{subscriber_id}.{version}.{paper_id}.{'u' if value > 0 else 'd'}"
    return f"{payload}.{_vote_mac(settings.secret_key, payload)}"


def read_vote_token(settings: Settings, token: str) -> VoteTokenData:
    """Check a vote token's MAC; revocation (the version) is the caller's check."""
    parts = token.split(".")
    if len(parts) != 5 or parts[3] not in ("u", "d"):
        raise InvalidToken("this link is not valid")
    numbers, mac = parts[:3], parts[4]
    if not all(n.isascii() and n.isdigit() and len(n) <= 18 for n in numbers):
        raise InvalidToken("this link is not valid")
    if not _mac_matches(mac, _vote_signer(settings.secret_key), lambda: _vote_key(settings.secret_key),
                        token.rpartition(".")[0]):
        raise InvalidToken("this link is not valid")
    subscriber_id, version, paper_id = (int(n) for n in numbers)
    return VoteTokenData(subscriber_id, version, paper_id, 1 if parts[3] == "u" else -1)


def vote_link(settings: Settings, subscriber_id: int, version: int, paper_id: int, value: int) -> str:
    """BASE_URL/vote/<token>: "more like this" (VALUE +1) or "less like this" (-1) for one paper."""
    return f"{settings.base_url}/vote/{make_vote_token(settings, subscriber_id, version, paper_id, value)}"


def vote_links(settings: Settings, subscriber_id: int, version: int, paper_id: int) -> tuple[str, str]:
    """(``vote_link`` +1, ``vote_link`` -1), the same strings made in one go: a digest makes 20, and
    the layers of calls around the two MACs cost twice the MACs themselves."""
    signer = _vote_signer(settings.secret_key)
    head = f"{subscriber_id}.{version}.{paper_id}."
    prefix = f"{settings.base_url}/vote/{head}"
    up, down = signer.copy(), signer.copy()
    up.update(f"{head}u".encode())
    down.update(f"{head}d".encode())
    b64, urlsafe = binascii.b2a_base64, _URLSAFE  # 12 bytes: no padding to strip
    return (f"{prefix}u.{b64(up.digest(), newline=False).translate(urlsafe).decode()}",
            f"{prefix}d.{b64(down.digest(), newline=False).translate(urlsafe).decode()}")
