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
NAV = (("dashboard", "/admin", "Dashboard"), ("subscribers", "/admin/subscribers", "Subscribers"),
       ("import", "/admin/import", "Import / export"), ("topics", "/admin/topics", "Topics"),
       ("sources", "/admin/sources", "Sources"), ("deliveries", "/admin/deliveries", "Deliveries"),
       ("outbox", "/admin/outbox", "Outbox"), ("tokens", "/admin/tokens", "API tokens"))


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
