"""/ (what papermail is, trending papers, the sign-up form), "check your inbox", and
"send me a new link". Every answer about an address is the same whatever its state."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from service.subscribers.preferences import Preferences
from service.actions.readers import request_new_links, request_subscription
from service.subscribers.lifecycle import Mail
from service.subscribers.store import InvalidSubscriber, normalise_email
from service.web.public.content import HomeData
from service.web.public.context import (
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


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """IANA names people pick from (Area/City), UTC first; the legacy aliases left out."""
    names = {n for n in available_timezones() if "/" in n and n.split("/")[0] not in ("Etc", "SystemV", "US")}
    return ("UTC", *sorted(names))


def page_context(request: Request, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    data = public(request).home.data(public(request).settings, datetime.now(UTC))
    return context_from(data, values, errors)


def context_from(data: HomeData, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "topics": data.topics,
        "trending": data.trending,
        "timezones": timezones(),
        "values": values,
        "errors": errors,
        "hours": range(24),
    }


def default_values(request: Request) -> dict[str, Any]:
    prefs = Preferences(timezone=public(request).settings.default_timezone)
    return {"email": "", "topics": [], "keywords": "", "frequency": prefs.frequency,
            "send_hour": str(prefs.send_hour), "timezone": prefs.timezone}


@router.get("/")
async def home(request: Request) -> Response:
    # The same page for everyone until the trending list is refreshed: rendered once per refresh.
    data = await home_data(request)
    return public(request).home_page.response(request, "public/home.html", context_from(data, default_values(request), {}), key=data)


async def _context(request: Request, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    # Cached: no database and no thread hop (the thread pool may be busy with sign-ups
    # waiting on the database); only a refill goes to a thread.
    return context_from(await home_data(request), values, errors)


async def home_data(request: Request) -> HomeData:
    state = public(request)
    # Cached, even when stale (refreshed behind the scenes): the home page must not queue for
    # a thread behind sign-ups that wait on the database.
    data = state.home.data_nowait(state.settings, datetime.now(UTC))
    if data is None:
        data = await run_in_threadpool(state.home.data, state.settings, datetime.now(UTC))
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
