"""/admin/login and /admin/logout."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from service.actions.admin import log_out
from service.admin.users import LoginFailed
from service.storage.db import session_scope
from service.web.admin.auth import (
    SESSION_COOKIE,
    AdminRoute,
    open_route,
    requires,
    safe_next,
    session_admin,
    sign_in,
)
from service.web.admin.forms import form_of, text
from service.web.admin.login_throttle import LoginRefused
from service.web.admin.responses import page
from service.web.admin.state import admin_of, state
from service.web.ratelimit import client_ip

router = APIRouter(prefix="/admin", route_class=AdminRoute, include_in_schema=False)


def login_page(request: Request, error: str = "", email: str = "", status_code: int = 200) -> Response:
    context = {"page_title": "Sign in", "error": error, "email": email,
               "next": safe_next(request.query_params.get("next")),
               "logged_out": request.query_params.get("done") == "logged-out",
               "password_set": request.query_params.get("done") == "password-set"}
    return page(request, "login.html", context, status_code=status_code)


@router.get("/login")
@open_route
async def login_form(request: Request) -> Response:
    admin_state = state(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    signed_in = (await run_in_threadpool(session_admin, admin_state.settings, admin_state.sessions, cookie)
                 if cookie else None)
    if signed_in is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return login_page(request)


@router.post("/login")
@open_route
async def login(request: Request) -> Response:
    form = form_of(request)
    email, password = text(form, "email", 320), form.get("password")
    admin_state = state(request)
    if not email or not isinstance(password, str) or not password:
        return login_page(request, "Enter your address and password.", email, 400)
    try:
        _, cookie = await run_in_threadpool(sign_in, admin_state.settings, admin_state.sessions, email, password,
                                            client_ip(request))
    except LoginRefused as exc:
        response = login_page(request, str(exc), email, 429)
        response.headers["retry-after"] = str(max(1, int(exc.refusal.retry_after) + 1))
        return response
    except LoginFailed:
        return login_page(request, "Wrong address or password.", email, 401)
    response = RedirectResponse(safe_next(text(form, "next", 2000)), status_code=303)
    admin_state.sessions.set_cookie(response, cookie)
    return response


def _record_logout(request: Request) -> None:
    admin = admin_of(request)
    with session_scope(state(request).settings) as session:
        log_out(session, admin.id, actor=admin.actor)


@router.post("/logout")
@requires("read")  # a viewer may sign out
async def logout(request: Request) -> Response:
    await run_in_threadpool(_record_logout, request)
    response = RedirectResponse("/admin/login?done=logged-out", status_code=303)
    state(request).sessions.clear_cookie(response)
    return response
