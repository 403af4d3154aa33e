"""What an admin page answers with: a page in the admin layout, a message page, and the
redirect-after-POST that shows a notice."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.background import BackgroundTask

from service.web.templating import render

PAGE_SIZE = 50  # rows of a listed page (subscribers, deliveries)
# (section, path, label, what the admin needs to see the link: a viewer has no import or export)
NAV = (("dashboard", "/admin", "Dashboard", "read"), ("subscribers", "/admin/subscribers", "Subscribers", "read"),
       ("import", "/admin/import", "Import / export", "export"), ("topics", "/admin/topics", "Topics", "read"),
       ("sources", "/admin/sources", "Sources", "read"), ("deliveries", "/admin/deliveries", "Deliveries", "read"),
       ("bounces", "/admin/bounces", "Bounces", "read"), ("outbox", "/admin/outbox", "Outbox", "read"),
       ("audit", "/admin/audit", "Audit log", "read"), ("users", "/admin/users", "Admins", "read"),
       ("tokens", "/admin/tokens", "API tokens", "read"))


def page(request: Request, name: str, context: dict[str, Any], *, section: str = "", status_code: int = 200,
         headers: dict[str, str] | None = None) -> Response:
    """Render admin/NAME with the layout's context (signed-in admin, navigation, notice)."""
    full = {"admin": getattr(request.state, "admin", None), "nav": NAV, "section": section,
            "notice": context.pop("notice", None), **context}
    return render(request, f"admin/{name}", full, status_code=status_code, headers=headers)


def message(request: Request, status: int, title: str, text_: str) -> Response:
    return page(request, "message.html", {"page_title": title, "title": title, "message": text_}, status_code=status)


def done(path: str, key: str, background: BackgroundTask | None = None, **counts: int) -> RedirectResponse:
    """303 back to PATH, where NOTICES[key] is shown (never free text from the URL), its
    ``{name}`` slots filled with COUNTS (numbers only); BACKGROUND runs after the response."""
    query = urlencode({"done": key, **{f"n_{name}": int(value) for name, value in counts.items()}})
    return RedirectResponse(f"{path}{'&' if '?' in path else '?'}{query}", status_code=303, background=background)


def notice(request: Request, notices: dict[str, str]) -> str | None:
    text = notices.get(request.query_params.get("done", ""))
    if text is None or "{" not in text:
        return text
    counts = {key[2:]: value for key, value in request.query_params.items() if key.startswith("n_")}
    numbers = {name: f"{int(value):,}" for name, value in counts.items() if value.isdigit() and len(value) < 10}
    try:
        return text.format_map(numbers)
    except (KeyError, ValueError):
        return None  # a link cut short: no notice rather than a half-filled one
