"""What every admin page shares: the per-app state, the signed-in admin, the submitted form,
rendering with the admin layout, and the redirect-after-POST with a notice."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from config.settings import Settings
from service.subscribers.lifecycle import Mail
from service.task_queue import TaskQueue
from service.web.admin.auth import Admin, Sessions
from service.web.templating import render

PAGE_SIZE = 50
NAV = (("dashboard", "/admin", "Dashboard"), ("subscribers", "/admin/subscribers", "Subscribers"),
       ("import", "/admin/import", "Import / export"), ("topics", "/admin/topics", "Topics"),
       ("sources", "/admin/sources", "Sources"), ("deliveries", "/admin/deliveries", "Deliveries"),
       ("outbox", "/admin/outbox", "Outbox"), ("tokens", "/admin/tokens", "API tokens"))


@dataclass
class AdminState:
    """Built once by ``install``; routes reach it as ``request.app.state.admin``."""

    settings: Settings
    sessions: Sessions
    dispatch: Callable[[Mail], None]
    queue: TaskQueue
    cache: dict[str, tuple[float, Any]] = field(default_factory=dict)

    @functools.cached_property
    def tools(self) -> Any:
        """Renderer, composer and mail backend for test digests: built on first use."""
        from service.digests.deliver import DeliveryTools

        return DeliveryTools.from_settings(self.settings)


def state(request: Request) -> AdminState:
    return request.app.state.admin  # type: ignore[no-any-return]


def settings_of(request: Request) -> Settings:
    return state(request).settings


def admin_of(request: Request) -> Admin:
    return request.state.admin  # type: ignore[no-any-return]


def form_of(request: Request) -> FormData:
    return getattr(request.state, "form", None) or FormData()


def text(form: FormData, name: str, limit: int = 6000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def now() -> datetime:
    return datetime.now(UTC)


def page(request: Request, name: str, context: dict[str, Any], *, section: str = "", status_code: int = 200,
         headers: dict[str, str] | None = None) -> Response:
    """Render admin/NAME with the layout's context (signed-in admin, navigation, notice)."""
    full = {"admin": getattr(request.state, "admin", None), "nav": NAV, "section": section,
            "notice": context.pop("notice", None), **context}
    return render(request, f"admin/{name}", full, status_code=status_code, headers=headers)


def message(request: Request, status: int, title: str, text_: str) -> Response:
    return page(request, "message.html", {"page_title": title, "title": title, "message": text_}, status_code=status)


def done(path: str, key: str, background: BackgroundTask | None = None) -> RedirectResponse:
    """303 back to PATH, where NOTICES[key] is shown (never free text from the URL); BACKGROUND
    runs after the response is sent."""
    query = urlencode({"done": key})
    return RedirectResponse(f"{path}{'&' if '?' in path else '?'}{query}", status_code=303, background=background)


def notice(request: Request, notices: dict[str, str]) -> str | None:
    return notices.get(request.query_params.get("done", ""))


def int_param(raw: str | None, low: int = 1, high: int = 2**63 - 1) -> int | None:
    if raw is None or not raw.strip().isdigit():
        return None
    value = int(raw)
    return value if low <= value <= high else None


def date_param(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def back_to(raw: str, prefix: str) -> str:
    """RAW if it is a page under PREFIX on this site (its old notice dropped), else PREFIX."""
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith(prefix) or "//" in parts.path:
        return prefix
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "done"])
    return parts.path + (f"?{query}" if query else "")


def change_lines(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """An audit entry as (field, before, after) lines; a changed dict (preferences) shows only
    its changed keys, as ``preferences.topics``. Values are JSON, cut to 80 characters."""
    before, after = before or {}, after or {}
    lines: list[tuple[str, str, str]] = []
    for key in list(after) + [k for k in before if k not in after]:
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            lines += [(f"{key}.{sub}", o, n) for sub, o, n in change_lines(old, new) if o != n]
        elif key not in before or key not in after or old != new:
            lines.append((key, _short(old) if key in before else "", _short(new) if key in after else ""))
    return lines


def _short(value: Any) -> str:
    text_ = json.dumps(value, ensure_ascii=False, default=str)
    return text_ if len(text_) <= 80 else text_[:79] + "…"
