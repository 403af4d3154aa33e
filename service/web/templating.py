"""HTML pages for every part of the site (public pages now, admin later): one Jinja environment
over ``templates/web``, the static files shipped in the package, CSRF fields and headers.

``install_web(app)`` is idempotent: the public pages and the admin both call it. A route renders
with ``render(request, "public/home.html", {...}, status_code=...)``; templates extend
``base.html`` and put a form's CSRF field with ``{{ csrf_field("form-name") }}``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from config.settings import Settings
from service.rendering.environment import TEMPLATES_DIR
from service.web.security import CSRF_FIELD, Csrf, SecurityHeaders

STATIC_DIR = Path(__file__).resolve().parent / "static"
WEB_TEMPLATES_DIR = TEMPLATES_DIR / "web"


def _static_versions(folder: Path = STATIC_DIR) -> dict[str, str]:
    """A content hash per static file: URLs change when the file does, so caches never go stale."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in folder.rglob("*")
        if path.is_file()
    }


def short_date(value: datetime | None) -> str:
    return "" if value is None else f"{value:%b} {value.day}, {value.year}"


def make_templates(settings: Settings) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=settings.environment == "development",
    )
    versions = _static_versions()

    def static_url(name: str) -> str:
        return f"/static/{name}?v={versions.get(name, '0')}"

    env.globals.update(static_url=static_url, site_name="papermail", base_url=settings.base_url)
    env.filters["short_date"] = short_date
    return Jinja2Templates(env=env)


def install_web(app: FastAPI) -> None:
    """Templates, /static, CSRF and security headers on APP (once, whoever calls first)."""
    if getattr(app.state, "web_installed", False):
        return
    settings: Settings = app.state.settings
    app.state.templates = make_templates(settings)
    app.state.csrf = Csrf.from_settings(settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    app.state.web_installed = True


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render template NAME; the page can put CSRF fields in its forms (the cookie is sent
    with the response when the browser had none)."""
    csrf: Csrf = request.app.state.csrf

    def csrf_field(form: str) -> Markup:
        token = escape(csrf.token(request, form))
        return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">')

    full = {"csrf_field": csrf_field, "page_title": "", **(context or {})}
    response = request.app.state.templates.TemplateResponse(
        request, name, full, status_code=status_code, headers=headers
    )
    csrf.set_cookie(request, response)
    # Pages may carry tokened links and CSRF tokens: never stored by shared caches.
    response.headers.setdefault("cache-control", "no-store")
    return response


_TOKEN_SLOT = re.compile(r"@@csrf:([A-Za-z0-9_:-]+)@@")


class CachedPage:
    """A page that is the same for every visitor but for its CSRF tokens (the home page):
    rendered once per KEY with a slot where each token goes, then only the tokens are filled
    in per request. Saves the template work on the busiest page."""

    def __init__(self) -> None:
        self._key: object = None
        self._parts: list[str] = []
        self._lock = threading.Lock()

    def response(self, request: Request, name: str, context: dict[str, Any], key: object) -> Response:
        with self._lock:
            if self._key is not key or not self._parts:
                self._parts = self._render(request, name, context)
                self._key = key
            parts = self._parts
        csrf: Csrf = request.app.state.csrf
        # parts alternate: text, form name, text, form name, ..., text
        html = "".join(csrf.token(request, part) if i % 2 else part for i, part in enumerate(parts))
        response = HTMLResponse(html, headers={"cache-control": "no-store"})
        csrf.set_cookie(request, response)
        return response

    @staticmethod
    def _render(request: Request, name: str, context: dict[str, Any]) -> list[str]:
        def slot(form: str) -> Markup:
            return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="@@csrf:{escape(form)}@@">')

        template = request.app.state.templates.get_template(name)
        html = template.render({"request": request, "csrf_field": slot, "page_title": "", **context})
        return _TOKEN_SLOT.split(html)
