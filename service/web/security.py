"""Web security shared by every HTML page (public and admin): CSRF tokens and security headers.

CSRF is a signed double-submit: the browser holds a random value in an HttpOnly cookie, and
every form carries a token signed with SECRET_KEY that binds that cookie value to the form's
name. A forged cross-site POST has neither the cookie's value nor a way to sign it; a token
lifted from one form is refused by another. Nothing is stored on the server.

Typical use::

    csrf = Csrf.from_settings(settings)
    token = csrf.token(request, "subscribe")        # while rendering (templating does it)
    csrf.verify(request, "subscribe", form.get("csrf_token"))   # raises CsrfError
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.settings import Settings
from service.catalog.cards import THUMBNAIL_HOSTS

CSRF_COOKIE = "papermail_csrf"
CSRF_FIELD = "csrf_token"
# A form left open longer than this must be reloaded: long enough for a slow reader.
CSRF_MAX_AGE_SECONDS = 24 * 3600

# No inline script or style anywhere: everything comes from /static. frame-ancestors stops
# clickjacking of the one-button unsubscribe page; form-action keeps forms on this site.
# Images: this site's, and the papers' thumbnails from their source's CDN (nothing else).
IMG_SOURCES = " ".join(["'self'", "data:", *(f"https://{host}" for host in THUMBNAIL_HOSTS)])
DEFAULT_CSP = (
    f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {IMG_SOURCES}; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
# FastAPI's /docs and /redoc load Swagger/ReDoc with inline script from a CDN: they get only
# the clickjacking rule, never the page CSP (which would leave them blank).
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CSP = "frame-ancestors 'none'"


class CsrfError(Exception):
    """The form's CSRF token is missing, forged, for another form, or too old."""


@dataclass(frozen=True)
class Csrf:
    serializer: URLSafeTimedSerializer
    secure_cookie: bool
    max_age: int = CSRF_MAX_AGE_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> Csrf:
        serializer = URLSafeTimedSerializer(settings.secret_key, salt="papermail.csrf")
        return cls(serializer, secure_cookie=settings.base_url.startswith("https://"))

    @staticmethod
    def _seed(request: Request) -> str:
        """This browser's cookie value; a fresh one (set on the response later) if it has none."""
        seed: str | None = getattr(request.state, "csrf_seed", None)
        if seed is None:
            cookie = request.cookies.get(CSRF_COOKIE, "")
            if 20 <= len(cookie) <= 64 and cookie.isascii():
                seed = cookie
            else:
                seed = secrets.token_urlsafe(24)
                request.state.csrf_new = True
            request.state.csrf_seed = seed
        return seed

    @staticmethod
    def _bind(seed: str) -> str:
        return hashlib.sha256(seed.encode()).hexdigest()[:24]

    def token(self, request: Request, form: str) -> str:
        return self.serializer.dumps({"f": form, "c": self._bind(self._seed(request))})

    def verify(self, request: Request, form: str, submitted: str | None) -> None:
        cookie = request.cookies.get(CSRF_COOKIE)
        if not submitted:
            raise CsrfError("the form's security token is missing; reload the page and try again")
        if not cookie:
            raise CsrfError("your browser did not send the security cookie; allow cookies for this site and reload")
        try:
            data = self.serializer.loads(submitted, max_age=self.max_age)
        except SignatureExpired:
            raise CsrfError("the form is too old; reload the page and try again") from None
        except BadSignature:
            raise CsrfError("the form's security token is not valid; reload the page and try again") from None
        if not isinstance(data, dict) or data.get("f") != form:
            raise CsrfError("the security token belongs to another form; reload the page and try again")
        if not hmac.compare_digest(str(data.get("c", "")), self._bind(cookie)):
            raise CsrfError("the security token does not match your browser; reload the page and try again")

    def set_cookie(self, request: Request, response: Response) -> None:
        """Send the cookie if this request minted a new value (called after rendering)."""
        if getattr(request.state, "csrf_new", False):
            response.set_cookie(
                CSRF_COOKIE,
                request.state.csrf_seed,
                httponly=True,
                samesite="lax",
                secure=self.secure_cookie,
                path="/",
            )


def security_headers(csp: str = DEFAULT_CSP) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),  # tokened URLs must never leak in a Referer
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above to every HTTP response (a response that
    already set one of them keeps its own value)."""

    def __init__(self, app: ASGIApp, csp: str = DEFAULT_CSP, relaxed_paths: Iterable[str] = DOCS_PATHS) -> None:
        self.app = app
        self.headers = security_headers(csp)
        self.relaxed = security_headers(DOCS_CSP)
        self.relaxed_paths = tuple(relaxed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = self.relaxed if path.startswith(self.relaxed_paths) else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
