"""Signed tokens in links: itsdangerous, one salt per purpose, so a token made for one page is
worthless on another. Confirmation tokens expire; the others do not but are revocable: each
carries the subscriber's ``token_version``, and bumping it ("send me a new link") voids them all.

Vote links are the exception in form, not in rules: a digest carries two per paper, so they are
a compact HMAC (``<subscriber>.<version>.<paper>.<u|d>.<mac>``, about 4 µs to make against 40 µs
for an itsdangerous token) under a key of their own, and carry ``token_version`` the same way.
"""

from __future__ import annotations

import base64
import functools
import hmac
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


def make_token(settings: Settings, purpose: Purpose, subscriber_id: int, version: int, **extra: Any) -> str:
    return _serializer(settings, purpose).dumps({"s": subscriber_id, "v": version, **extra})


def read_token(settings: Settings, purpose: Purpose, token: str) -> TokenData:
    """Check the signature (and, for confirmations, the age); revocation is the caller's check."""
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


@dataclass(frozen=True)
class VoteTokenData:
    subscriber_id: int
    version: int
    paper_id: int
    value: int  # +1 more like this, -1 less like this


@functools.lru_cache(maxsize=8)
def _vote_key(secret_key: str) -> bytes:
    # Derived once per secret: a salt of its own makes a vote MAC useless as any other signature.
    return hmac.digest(secret_key.encode(), b"papermail.vote", "sha256")


def _vote_mac(secret_key: str, payload: str) -> str:
    mac = hmac.digest(_vote_key(secret_key), payload.encode(), "sha256")[:16]  # 128 bits
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


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
    if not hmac.compare_digest(mac.encode(), _vote_mac(settings.secret_key, token.rpartition(".")[0]).encode()):
        raise InvalidToken("this link is not valid")
    subscriber_id, version, paper_id = (int(n) for n in numbers)
    return VoteTokenData(subscriber_id, version, paper_id, 1 if parts[3] == "u" else -1)


def vote_link(settings: Settings, subscriber_id: int, version: int, paper_id: int, value: int) -> str:
    """BASE_URL/vote/<token>: "more like this" (VALUE +1) or "less like this" (-1) for one paper."""
    return f"{settings.base_url}/vote/{make_vote_token(settings, subscriber_id, version, paper_id, value)}"
