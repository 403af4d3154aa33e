"""/ (the day's papers, the sign-up form), "check your inbox", and "send me a new link".
Every answer about an address is the same whatever its state.

/ with no parameters is the latest day, cached and rendered once per refresh (the busiest page);
?date=, ?week=, ?month=, ?topic=, ?q= and ?page= views are queried per request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlencode
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from service.catalog.browse import Browse, View, browse
from service.catalog.days import Span, SpanError, page_number, parse_span
from service.catalog.search import clean_query
from service.storage.db import session_scope
from service.subscribers.preferences import Preferences
from service.actions.readers import request_new_links, request_subscription
from service.subscribers.lifecycle import Mail
from service.subscribers.store import InvalidSubscriber, normalise_email
from service.web.public.content import HomeData
from service.web.public.context import (
    PageError,
    check_csrf,
    hand_over,
    ip_key,
    limit,
    public,
    read_form,
    text,
    writing,
)
from service.web.public.forms import FormErrors, form_values, preferences_from_form
from service.web.templating import render

router = APIRouter()
MAX_EMAIL_CHARS = 320
VIEW_PARAMS = ("date", "week", "month", "topic", "q", "page")


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """IANA names people pick from (Area/City), UTC first; the legacy aliases left out."""
    names = {n for n in available_timezones() if "/" in n and n.split("/")[0] not in ("Etc", "SystemV", "US")}
    return ("UTC", *sorted(names))


class ViewUrls:
    """Stable URLs of the front page's views: the span's parameter, then topic, q and page,
    always in that order, so one view has one URL."""

    def __init__(self, view: View) -> None:
        self.view = view

    def _url(self, span: Span | None, topic: str | None, q: str, page: int = 1) -> str:
        params = [span.param] if span is not None else []
        params += [("topic", topic)] if topic else []
        params += [("q", q)] if q else []
        params += [("page", str(page))] if page > 1 else []
        return "/?" + urlencode(params) if params else "/"

    def span(self, span: Span) -> str:
        return self._url(span, self.view.topic, self.view.q)

    def topic(self, slug: str | None) -> str:
        return self._url(self.view.span, slug, self.view.q)

    def page(self, number: int) -> str:
        return self._url(self.view.span, self.view.topic, self.view.q, number)

    def without_search(self) -> str:
        return self._url(self.view.span, self.view.topic, "")


def read_view(request: Request, slugs: frozenset[str]) -> View | None:
    """The view the query string asks for; None for the default (/ with no parameters)."""
    params = request.query_params
    if not any(params.get(name, "").strip() for name in VIEW_PARAMS):
        return None
    try:
        span = parse_span(params.get("date"), params.get("week"), params.get("month"))
    except SpanError as exc:
        raise PageError(400, "No such day", f"Nothing was found: {exc}.") from None
    topic = params.get("topic", "").strip() or None
    if topic is not None and topic not in slugs:
        raise PageError(404, "No such topic", "There is no topic by that name; pick one on the front page.")
    return View(span=span, topic=topic, q=clean_query(params.get("q")), page=page_number(params.get("page")))


def context_from(data: HomeData, values: dict[str, Any], errors: dict[str, str],
                 front: Browse | None = None) -> dict[str, Any]:
    front = front or data.front
    return {
        "page_title": front_title(front),
        "topics": data.topics,
        "front": front,
        "urls": ViewUrls(front.view),
        "timezones": timezones(),
        "values": values,
        "errors": errors,
        "hours": range(24),
    }


def front_title(front: Browse) -> str:
    if front.searching:
        return f"Search: {front.view.q}"
    return f"Daily papers, {front.span.label}" if front.span is not None else "Daily papers"


def default_values(request: Request) -> dict[str, Any]:
    prefs = Preferences(timezone=public(request).settings.default_timezone)
    return {"email": "", "topics": [], "keywords": "", "frequency": prefs.frequency,
            "send_hour": str(prefs.send_hour), "timezone": prefs.timezone}


@router.get("/")
async def home(request: Request) -> Response:
    data = await home_data(request)
    view = read_view(request, data.slugs)
    if view is None:
        # The same page for everyone until the latest day is refreshed: rendered once per refresh.
        context = context_from(data, default_values(request), {})
        return public(request).home_page.response(request, "public/home.html", context, key=data)
    front = await run_in_threadpool(_browse, request, view, data.topic_names)
    return render(request, "public/home.html", context_from(data, default_values(request), {}, front))


def _browse(request: Request, view: View, names: dict[str, str]) -> Browse:
    with session_scope(public(request).settings) as session:
        return browse(session, view, names)


async def _context(request: Request, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    # Cached: no database and no thread hop (the thread pool may be busy with sign-ups
    # waiting on the database); only a refill goes to a thread.
    return context_from(await home_data(request), values, errors)


async def home_data(request: Request) -> HomeData:
    state = public(request)
    # Cached, even when stale (refreshed behind the scenes): the home page must not queue for
    # a thread behind sign-ups that wait on the database.
    data = state.home.data_nowait(state.settings)
    if data is None:
        data = await run_in_threadpool(state.home.data, state.settings)
    return data


def checked_email(raw: str) -> str:
    if len(raw) > MAX_EMAIL_CHARS:
        raise InvalidSubscriber("email: that is longer than any email address can be")
    return normalise_email(raw)


def email_error(exc: InvalidSubscriber) -> str:
    message = str(exc).removeprefix("email: ")
    return message if len(message) < 200 else "that is not a valid email address"


@router.post("/")
async def subscribe(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(request, form, "subscribe")
    state = public(request)
    limit(request, "sign-up", (state.limits.subscribe_ip, ip_key(request)))
    values = form_values(form)
    errors: dict[str, str] = {}
    address = ""
    try:
        address = checked_email(text(form, "email"))
    except InvalidSubscriber as exc:
        errors["email"] = email_error(exc)
    data = await home_data(request)
    prefs = None
    try:
        base = Preferences(timezone=state.settings.default_timezone)
        prefs = preferences_from_form(form, data.slugs, base)
    except FormErrors as exc:
        errors.update(exc.errors)
    if errors or prefs is None:
        context = await _context(request, values, errors)
        return render(request, "public/home.html", context, status_code=422)
    limit(request, "sign-up", (state.limits.subscribe_address, f"address:{address}"))
    mail = await run_in_threadpool(_subscribe, request, address, prefs)
    await hand_over(request, mail)
    return RedirectResponse("/check-inbox", status_code=303)


def _subscribe(request: Request, address: str, prefs: Preferences) -> Mail | None:
    with writing(public(request)) as session:
        return request_subscription(session, address, prefs, datetime.now(UTC))


@router.get("/check-inbox")
async def check_inbox(request: Request) -> Response:
    hours = public(request).settings.confirm_token_max_age_hours
    return render(request, "public/check_inbox.html", {"page_title": "Check your inbox", "hours": hours})


@router.get("/links")
async def links_form(request: Request) -> Response:
    return render(request, "public/links.html", {"page_title": "Get a new link", "values": {}, "errors": {}})


@router.post("/links")
async def links_request(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(request, form, "links")
    state = public(request)
    limit(request, "link", (state.limits.link_ip, ip_key(request)))
    try:
        address = checked_email(text(form, "email"))
    except InvalidSubscriber as exc:
        context = {"page_title": "Get a new link", "values": form_values(form), "errors": {"email": email_error(exc)}}
        return render(request, "public/links.html", context, status_code=422)
    limit(request, "link", (state.limits.link_address, f"address:{address}"))

    def rotate() -> Mail | None:
        with writing(state) as session:
            return request_new_links(session, address, datetime.now(UTC))

    mail = await run_in_threadpool(rotate)
    await hand_over(request, mail)
    return RedirectResponse("/check-inbox", status_code=303)
