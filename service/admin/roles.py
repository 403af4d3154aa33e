"""Who may do what: an admin account's role, and an API token's, is one of ROLES.

``owner`` may do everything; ``viewer`` reads every admin page and API resource but changes
nothing and takes no address out of papermail (no CSV export, no message download, no listing
of subscribers through the API). A request needs one PERMISSION; the admin pages and the API
check it before the page or endpoint runs (service.web.admin.auth, service.web.api.auth).
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["owner", "viewer"]
Permission = Literal["read", "change", "export"]

ROLES: tuple[str, ...] = get_args(Role)
GRANTS: dict[str, frozenset[str]] = {
    "owner": frozenset({"read", "change", "export"}),
    "viewer": frozenset({"read"}),
}
DESCRIPTIONS = {"owner": "everything: changes, exports, admin accounts and tokens",
                "viewer": "reads every page; changes nothing, exports no address"}


class RoleError(ValueError):
    pass


def check_role(value: str) -> Role:
    if value not in ROLES:
        raise RoleError(f"role: {value!r} is not one of {', '.join(ROLES)}")
    return value  # type: ignore[return-value]


def may(role: str, permission: Permission) -> bool:
    """True when ROLE grants PERMISSION; an unknown role grants nothing."""
    return permission in GRANTS.get(role, frozenset())


def method_permission(method: str) -> Permission:
    """What an HTTP method needs when its route asks for nothing more: reading is safe."""
    return "read" if method.upper() in ("GET", "HEAD", "OPTIONS") else "change"
