"""Signed tokens in links: itsdangerous, one salt per purpose, so a token made for one page is
worthless on another. Confirmation tokens expire; the others do not but are revocable: each
carries the subscriber's ``token_version``, and bumping it ("send me a new link") voids them all.
"""

from __future__ import annotations

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


def link(settings: Settings, purpose: Purpose, subscriber_id: int, version: int, **extra: Any) -> str:
    """The absolute URL of a tokened page: BASE_URL/<purpose>/<token>."""
    return f"{settings.base_url}/{purpose}/{make_token(settings, purpose, subscriber_id, version, **extra)}"
