"""/admin/tokens: API tokens for /api/v1 — create (the token is shown once, on the answer to
the POST, and never stored), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from service.actions.admin import issue_api_token, revoke_api_token
from service.admin.api_tokens import TokenError, list_tokens
from service.admin.roles import DESCRIPTIONS, ROLES
from service.storage.db import session_scope
from service.storage.models import AdminUser
from service.web.admin.auth import AdminRoute
from service.web.admin.forms import form_of, text
from service.web.admin.responses import done, message, notice, page
from service.web.admin.state import admin_of, now, settings_of

router = APIRouter(prefix="/admin/tokens", route_class=AdminRoute, include_in_schema=False)
NOTICES = {"revoked": "The token was revoked: calls with it are refused from now on."}


def listing(request: Request, *, created: str = "", error: str = "", status: int = 200) -> Response:
    with session_scope(settings_of(request)) as session:
        creators = dict(session.execute(select(AdminUser.id, AdminUser.email)).all())
        context = {"page_title": "API tokens", "tokens": list_tokens(session), "creators": creators,
                   "created": created, "error": error, "notice": notice(request, NOTICES), "roles": ROLES,
                   "descriptions": DESCRIPTIONS}
        return page(request, "tokens.html", context, section="tokens", status_code=status)


@router.get("")
def token_list(request: Request) -> Response:
    return listing(request)


@router.post("")
def create(request: Request) -> Response:
    admin = admin_of(request)
    try:
        with session_scope(settings_of(request)) as session:
            _, token = issue_api_token(session, text(form_of(request), "name", 200), actor=admin.actor, now=now(),
                                       created_by=admin.id, role=text(form_of(request), "role", 16) or "owner")
    except TokenError as exc:
        return listing(request, error=f"Not created: {exc}.", status=400)
    # Rendered, not redirected: this response is the only place the token ever appears.
    return listing(request, created=token)


@router.post("/{token_id}/revoke")
def revoke(request: Request, token_id: int) -> Response:
    with session_scope(settings_of(request)) as session:
        actor = admin_of(request).actor
        row = revoke_api_token(session, token_id, actor=actor, now=now()) if 1 <= token_id < 2**31 else None
        if row is None:
            return message(request, 404, "No such token", f"There is no API token {token_id}.")
    return done("/admin/tokens", "revoked")
