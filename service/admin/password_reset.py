"""One-time password reset links for admin accounts: nothing stored, nothing to clean up.

A link carries the admin's id and the fingerprint of their password hash, signed with
SECRET_KEY and refused after RESET_HOURS. Setting a password changes the hash, so the link
that did it (and every other one issued before) stops working: one use each. It also ends the
admin's sessions, which carry the same fingerprint.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

from service.admin.users import fingerprint
from service.storage.models import AdminUser

RESET_HOURS = 24
SALT = "papermail.admin-password-reset"
PATH = "/admin/reset/"


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def reset_token(secret_key: str, user: AdminUser) -> str:
    return _serializer(secret_key).dumps({"u": user.id, "p": fingerprint(user.password_hash)})


def reset_url(base_url: str, secret_key: str, user: AdminUser) -> str:
    return base_url.rstrip("/") + PATH + reset_token(secret_key, user)


def read_reset_token(secret_key: str, token: str, max_hours: int = RESET_HOURS) -> tuple[int, str] | None:
    """(admin id, fingerprint) of a valid, unexpired token; None for anything else."""
    if not token or len(token) > 400:
        return None
    try:
        data = _serializer(secret_key).loads(token, max_age=max_hours * 3600)
    except BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("p"), str):
        return None
    return data["u"], data["p"]


def reset_target(user: AdminUser | None, claim: tuple[int, str]) -> AdminUser | None:
    """USER if the link's claim still holds for it: active, and the password unchanged since."""
    if user is None or user.id != claim[0] or not user.is_active or fingerprint(user.password_hash) != claim[1]:
        return None
    return user
