"""The public site: the front page (the day's papers) and a page per paper, sign-up with double
opt-in, preferences, unsubscribe, votes, archive and feed.

``install(app)`` adds the routes, the shared web pieces (templates, static files, CSRF,
security headers; see service.web.templating) and the error pages they answer with.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response

from service.subscribers.lifecycle import Mail
from service.catalog.days import long_day
from service.web.public import archive, confirm, feed, home, paper, preferences, seeds, unsubscribe, vote
from service.web.public.context import PageError, Public
from service.web.public.dispatch import default_dispatch
from service.web.public.forms import LABELS
from service.web.ratelimit import RateLimited
from service.web.security import CsrfError
from service.web.templating import install_web, render


def install(app: FastAPI, dispatch: Callable[[Mail], None] | None = None) -> None:
    """DISPATCH hands over transactional mail (default: the Celery queue, or in-process for
    MAIL_BACKEND=memory); tests pass their own."""
    install_web(app)
    app.state.templates.env.globals["field_labels"] = LABELS
    app.state.templates.env.filters["day_label"] = long_day
    settings = app.state.settings
    app.state.public = Public.from_settings(settings, dispatch or default_dispatch(settings))
    for module in (home, paper, confirm, preferences, seeds, unsubscribe, archive, feed, vote):
        app.include_router(module.router, include_in_schema=False)
    app.add_exception_handler(PageError, page_error)  # type: ignore[arg-type]  # Starlette: handlers take Exception
    app.add_exception_handler(CsrfError, csrf_error)  # type: ignore[arg-type]  # Starlette: handlers take Exception
    app.add_exception_handler(RateLimited, rate_limited)  # type: ignore[arg-type]  # Starlette: handlers take Exception


def message(request: Request, status: int, title: str, text: str, headers: dict[str, str] | None = None,
            **extra: object) -> Response:
    context = {"page_title": title, "title": title, "message": text, "show_new_link": False, **extra}
    return render(request, "public/message.html", context, status_code=status, headers=headers)


async def page_error(request: Request, exc: PageError) -> Response:
    return message(request, exc.status, exc.title, exc.message, **exc.extra)


async def csrf_error(request: Request, exc: CsrfError) -> Response:
    text = f"Nothing was changed: {exc}."
    return message(request, 403, "Form expired or not from this site", text)


async def rate_limited(request: Request, exc: RateLimited) -> Response:
    retry = str(max(1, int(exc.retry_after + 0.999)))
    return message(request, 429, "Too many requests", f"Nothing was sent: {exc}.", headers={"retry-after": retry})
