"""/admin/users: admin accounts — list, add, change role, disable or enable, and a one-time
password reset link; /admin/reset/{token}: where that link lets its admin set a password.

A new account gets a random password nobody knows and a reset link, shown once on the answer
to the POST (like an API token): the new admin chooses their own password through it.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from service.actions.admin import (
    add_admin,
    change_admin_password,
    change_admin_role,
    note_reset_link,
    set_admin_active,
)
from service.admin.password_reset import read_reset_token, reset_target, reset_url
from service.admin.roles import DESCRIPTIONS, ROLES
from service.admin.users import AdminError, AdminExists, list_admins
from service.storage.db import session_scope
from service.storage.models import AdminUser
from service.web.admin.auth import AdminRoute, open_route
from service.web.admin.forms import form_of, text
from service.web.admin.responses import done, message, notice, page
from service.web.admin.state import admin_of, now, settings_of

router = APIRouter(prefix="/admin", route_class=AdminRoute, include_in_schema=False)
NOTICES = {"role": "The role was changed.", "disabled": "Disabled: this admin can no longer sign in.",
           "enabled": "Enabled: this admin can sign in again.", "unchanged": "Nothing to change."}
MAX_ID = 2**31 - 1


def listing(request: Request, *, created: str = "", error: str = "", values: dict[str, str] | None = None,
            status: int = 200) -> Response:
    with session_scope(settings_of(request)) as session:
        context = {"page_title": "Admins", "users": list_admins(session), "roles": ROLES, "descriptions": DESCRIPTIONS,
                   "created": created, "error": error, "values": values or {"role": "viewer"},
                   "notice": notice(request, NOTICES)}
        return page(request, "users/list.html", context, section="users", status_code=status)


@router.get("/users")
def user_list(request: Request) -> Response:
    return listing(request)


@router.post("/users")
def create(request: Request) -> Response:
    form = form_of(request)
    email, role = text(form, "email", 320), text(form, "role", 16)
    settings = settings_of(request)
    try:
        with session_scope(settings) as session:
            user = add_admin(session, email, secrets.token_urlsafe(32), actor=admin_of(request).actor,
                             now=now(), role=role)
            note_reset_link(session, user, actor=admin_of(request).actor)
            link = reset_url(settings.base_url, settings.secret_key, user)
    except AdminExists as exc:
        return listing(request, error=f"{exc.email} has an account already: open it to reset its password "
                                      "or enable it.", values={"email": email, "role": role}, status=400)
    except AdminError as exc:
        return listing(request, error=f"Not added: {exc}.", values={"email": email, "role": role}, status=400)
    # Rendered, not redirected: this answer is the only place the link is shown.
    return listing(request, created=link)


def _load(session: Session, user_id: int) -> AdminUser | None:
    return session.get(AdminUser, user_id) if 1 <= user_id <= MAX_ID else None


def _missing(request: Request, user_id: int) -> Response:
    return message(request, 404, "No such admin", f"There is no admin account {user_id}.")


def detail_page(request: Request, user_id: int, *, link: str = "", error: str = "", status: int = 200) -> Response:
    with session_scope(settings_of(request)) as session:
        user = _load(session, user_id)
        if user is None:
            return _missing(request, user_id)
        context = {"page_title": user.email, "user": user, "roles": ROLES, "descriptions": DESCRIPTIONS,
                   "link": link, "error": error, "notice": None if error else notice(request, NOTICES),
                   "is_me": user.id == admin_of(request).id}
        return page(request, "users/detail.html", context, section="users", status_code=status)


@router.get("/users/{user_id}")
def detail(request: Request, user_id: int) -> Response:
    return detail_page(request, user_id)


@router.post("/users/{user_id}/role")
def role(request: Request, user_id: int) -> Response:
    wanted = text(form_of(request), "role", 16)
    try:
        with session_scope(settings_of(request)) as session:
            user = _load(session, user_id)
            if user is None:
                return _missing(request, user_id)
            changed = change_admin_role(session, user, wanted, actor=admin_of(request).actor)
    except AdminError as exc:
        return detail_page(request, user_id, error=f"Not changed: {exc}.", status=409)
    return done(f"/admin/users/{user_id}", "role" if changed else "unchanged")


def _set_active(request: Request, user_id: int, active: bool) -> Response:
    try:
        with session_scope(settings_of(request)) as session:
            user = _load(session, user_id)
            if user is None:
                return _missing(request, user_id)
            changed = set_admin_active(session, user, active, actor=admin_of(request).actor)
    except AdminError as exc:
        return detail_page(request, user_id, error=f"Not changed: {exc}.", status=409)
    return done(f"/admin/users/{user_id}", ("enabled" if active else "disabled") if changed else "unchanged")


@router.post("/users/{user_id}/disable")
def disable(request: Request, user_id: int) -> Response:
    return _set_active(request, user_id, False)


@router.post("/users/{user_id}/enable")
def enable(request: Request, user_id: int) -> Response:
    return _set_active(request, user_id, True)


@router.post("/users/{user_id}/reset-link")
def reset_link(request: Request, user_id: int) -> Response:
    settings = settings_of(request)
    with session_scope(settings) as session:
        user = _load(session, user_id)
        if user is None:
            return _missing(request, user_id)
        if not user.is_active:
            return detail_page(request, user_id, error="Enable the account first: a disabled admin cannot sign in.",
                               status=409)
        note_reset_link(session, user, actor=admin_of(request).actor)
        link = reset_url(settings.base_url, settings.secret_key, user)
    return detail_page(request, user_id, link=link)


# -- the link's own page: no session (the admin forgot their password) --------------------

def _reset_page(request: Request, token: str, error: str = "", status: int = 200) -> Response:
    return page(request, "users/reset.html", {"page_title": "Choose a password", "token": token, "error": error},
                status_code=status)


def _expired(request: Request) -> Response:
    return message(request, 410, "This link no longer works",
                   "It was used already, is older than a day, or the account is disabled. "
                   "Ask an owner for a new one, or run `papermail admin reset-link EMAIL`.")


def _target(request: Request, session: Session, token: str) -> AdminUser | None:
    claim = read_reset_token(settings_of(request).secret_key, token)
    return reset_target(session.get(AdminUser, claim[0]), claim) if claim else None


@router.get("/reset/{token}")
@open_route
def reset_form(request: Request, token: str) -> Response:
    with session_scope(settings_of(request)) as session:
        if _target(request, session, token) is None:
            return _expired(request)
    return _reset_page(request, token)


@router.post("/reset/{token}")
@open_route
def reset(request: Request, token: str) -> Response:
    form = form_of(request)
    password, again = form.get("password"), form.get("password_again")
    if not isinstance(password, str) or password != again:
        return _reset_page(request, token, "The two passwords differ: type the same one twice.", 400)
    try:
        with session_scope(settings_of(request)) as session:
            user = _target(request, session, token)
            if user is None:
                return _expired(request)
            change_admin_password(session, user, password, actor=user.email)
    except AdminError as exc:
        return _reset_page(request, token, f"Not set: {exc}.", 400)
    return RedirectResponse("/admin/login?done=password-set", status_code=303)
