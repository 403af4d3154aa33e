"""Admin sessions: a signed, expiring, HttpOnly, SameSite=Lax cookie; login, logout; and the
route class that guards every /admin page.

The cookie holds the admin's id and a fingerprint of their password hash, signed with
SECRET_KEY (itsdangerous) and refused after ADMIN_SESSION_HOURS: changing a password ends every
session made with the old one, and nothing about sessions is stored on the server. Repeated
failures are throttled per (account, client) and per client, never per account alone
(service.web.admin.login_throttle).

``AdminRoute`` checks the session before FastAPI runs the endpoint (a page cannot forget to),
then the admin's role (service.admin.roles): a GET needs ``read``, anything else ``change``, and
an endpoint marked ``@requires("export")`` (or ``"read"``, for a POST that changes nothing, such
as logging out) needs that instead. It reads every POST's form once (``request.state.form``) and
refuses it without a valid CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData

from config.settings import Settings
from service.actions.admin import log_in, note_login_refused
from service.admin.roles import Permission, may, method_permission
from service.admin.users import LoginFailed, fingerprint
from service.storage.db import session_factory, session_scope
from service.storage.models import AdminUser
from service.web.admin.login_throttle import LoginRefused, LoginThrottle
from service.web.admin.responses import message
from service.web.security import CSRF_FIELD, Csrf, CsrfError

SESSION_COOKIE = "papermail_admin"
CSRF_FORM = "admin"  # one form name for every admin form: they all share one privilege
MAX_FORM_BYTES = 256 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # a CSV of ~500,000 subscribers


@dataclass(frozen=True)
class Admin:
    id: int
    email: str
    role: str = "owner"

    @property
    def actor(self) -> str:
        return self.email

    def may(self, permission: Permission) -> bool:
        """What the templates ask to show or hide a form; the route class enforces it."""
        return may(self.role, permission)


class Sessions:
    def __init__(self, settings: Settings) -> None:
        self.serializer = URLSafeTimedSerializer(settings.secret_key, salt="papermail.admin-session")
        self.max_age = settings.admin_session_hours * 3600
        self.secure = settings.base_url.startswith("https://")
        self.throttle = LoginThrottle.from_settings(settings)

    def issue(self, user: AdminUser) -> str:
        return self.serializer.dumps({"u": user.id, "p": fingerprint(user.password_hash)})

    def read(self, value: str | None) -> tuple[int, str] | None:
        """(admin id, fingerprint) of a valid, unexpired cookie value; None for anything else."""
        if not value or len(value) > 500:
            return None
        try:
            data = self.serializer.loads(value, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is one too
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("p"), str):
            return None
        return data["u"], data["p"]

    def set_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(SESSION_COOKIE, value, max_age=self.max_age, httponly=True, samesite="lax",
                            secure=self.secure, path="/admin")

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="lax", secure=self.secure)


def session_admin(settings: Settings, sessions: Sessions, cookie: str | None) -> Admin | None:
    claim = sessions.read(cookie)
    if claim is None:
        return None
    with session_scope(settings) as session:
        user = session.get(AdminUser, claim[0])
        if user is None or not user.is_active or fingerprint(user.password_hash) != claim[1]:
            return None
        return Admin(user.id, user.email, user.role)


def sign_in(settings: Settings, sessions: Sessions, email: str, password: str, client: str) -> tuple[Admin, str]:
    """The admin and their new cookie value; LoginFailed, or LoginRefused by the throttle. A
    failure is committed (its counter, and the audit row of a lock it started) though it raises."""
    throttle = sessions.throttle
    refusal = throttle.check(email, client)
    if refusal is not None:
        raise LoginRefused(refusal)  # before argon2: a refused guess costs the server nothing
    session = session_factory(settings)()
    try:
        now = datetime.now(UTC)
        try:
            user = log_in(session, email, password, now)
        except LoginFailed:
            started = throttle.failed(email, client)
            for begun in started:
                note_login_refused(session, email, client, scope=begun.scope, retry_after=begun.retry_after)
            session.commit()
            locked = [begun for begun in started if begun.scope == "account"]
            if locked:
                raise LoginRefused(locked[0]) from None
            raise
        admin, value = Admin(user.id, user.email, user.role), sessions.issue(user)
        session.commit()
        return admin, value
    finally:
        session.close()


def safe_next(target: str | None) -> str:
    """Only a path inside the admin: a login link must not send anyone elsewhere."""
    if target and target.startswith("/admin") and "//" not in target and "\\" not in target:
        return target
    return "/admin"


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/admin/login?next={quote(target, safe='')}", status_code=303)


async def read_form(request: Request) -> FormData:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return FormData()  # not a form: it fails the CSRF check
    length = request.headers.get("content-length", "")
    limit = MAX_UPLOAD_BYTES if kind == "multipart/form-data" else MAX_FORM_BYTES
    if not length.isdigit() or int(length) > limit:
        raise FormTooLarge()
    return await request.form(max_files=1, max_fields=2000, max_part_size=MAX_FORM_BYTES)


class FormTooLarge(Exception):
    pass


def open_route(endpoint: Any) -> Any:
    """Mark an endpoint as reachable without a session (the login and password reset pages)."""
    endpoint.admin_open = True
    return endpoint


def requires(permission: Permission) -> Any:
    """Mark an endpoint as needing PERMISSION instead of what its method needs."""
    def mark(endpoint: Any) -> Any:
        endpoint.admin_permission = permission
        return endpoint
    return mark


def refused(request: Request, admin: Admin, permission: Permission) -> Response:
    what = {"export": "take addresses out of papermail", "change": "change anything"}.get(permission, "see this")
    return message(request, 403, "Not allowed", f"Your account ({admin.role}) cannot {what}. "
                                                "An owner can change your role on the Admins page.")


class AdminRoute(APIRoute):
    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()
        is_open = getattr(self.endpoint, "admin_open", False)
        marked: Permission | None = getattr(self.endpoint, "admin_permission", None)

        async def guarded(request: Request) -> Response:
            state = request.app.state.admin
            if not is_open:
                cookie = request.cookies.get(SESSION_COOKIE)
                admin = await run_in_threadpool(session_admin, state.settings, state.sessions, cookie)
                if admin is None:
                    response = login_redirect(request)
                    if cookie:
                        state.sessions.clear_cookie(response)
                    return response
                request.state.admin = admin
                needed = marked or method_permission(request.method)
                if not admin.may(needed):
                    return refused(request, admin, needed)
            if request.method == "POST":
                try:
                    form = await read_form(request)
                except FormTooLarge:
                    return message(request, 413, "Too large", "That upload is larger than papermail accepts.")
                request.state.form = form
                csrf: Csrf = request.app.state.csrf
                token = form.get(CSRF_FIELD)
                try:
                    csrf.verify(request, CSRF_FORM, token if isinstance(token, str) else None)
                except CsrfError as exc:
                    return message(request, 403, "Form expired or not from this site", f"Nothing was changed: {exc}.")
            return await handler(request)

        return guarded
