"""/admin/tokens: API tokens for /api/v1 — create (the token is shown once, on the answer to
the POST, and never stored), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from service.admin import audit
from service.admin.api_tokens import TokenError, create_token, list_tokens, revoke_token
from service.storage.db import session_scope
from service.storage.models import AdminUser
from service.web.admin.auth import AdminRoute
from service.web.admin.pages import (
    admin_of,
    done,
    form_of,
    message,
    notice,
    now,
    page,
    settings_of,
    text,
)

router = APIRouter(prefix="/admin/tokens", route_class=AdminRoute, include_in_schema=False)
NOTICES = {"revoked": "The token was revoked: calls with it are refused from now on."}


def listing(request: Request, *, created: str = "", error: str = "", status: int = 200) -> Response:
    with session_scope(settings_of(request)) as session:
        creators = dict(session.execute(select(AdminUser.id, AdminUser.email)).all())
        context = {"page_title": "API tokens", "tokens": list_tokens(session), "creators": creators,
                   "created": created, "error": error, "notice": notice(request, NOTICES)}
        return page(request, "tokens.html", context, section="tokens", status_code=status)


@router.get("")
def token_list(request: Request) -> Response:
    return listing(request)


@router.post("")
def create(request: Request) -> Response:
    admin = admin_of(request)
    try:
        with session_scope(settings_of(request)) as session:
            row, token = create_token(session, text(form_of(request), "name", 200), now(), created_by=admin.id)
            audit.record(session, admin.actor, "api_token.create", "api_token", row.id, None, {"name": row.name})
    except TokenError as exc:
        return listing(request, error=f"Not created: {exc}.", status=400)
    # Rendered, not redirected: this response is the only place the token ever appears.
    return listing(request, created=token)


@router.post("/{token_id}/revoke")
def revoke(request: Request, token_id: int) -> Response:
    with session_scope(settings_of(request)) as session:
        row = revoke_token(session, token_id, now()) if 1 <= token_id < 2**31 else None
        if row is None:
            return message(request, 404, "No such token", f"There is no API token {token_id}.")
        audit.record(session, admin_of(request).actor, "api_token.revoke", "api_token", token_id, None, {"name": row.name})
    return done("/admin/tokens", "revoked")
