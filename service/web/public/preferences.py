"""/preferences/{token}: edit what and when, see "what you would have got today" (rendered on
the server; the script only refreshes it as the form changes), pause or resume, change the
address (confirmed from the new mailbox), and the links to the archive and the feed. What
papermail learned and "more like these papers" are shown here too; their forms post to the
routes in seeds.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.preferences import Preferences
from service.actions.readers import request_address_change, resubscribe, save_preferences, set_paused
from service.subscribers.lifecycle import Mail
from service.subscribers.store import InvalidSubscriber, preferences_of
from service.subscribers.tokens import link
from service.web.public.content import matched_papers, preview_since
from service.web.public.context import (
    check_csrf,
    hand_over,
    ip_key,
    limit,
    linked_subscriber,
    public,
    read_form,
    text,
    writing,
)
from service.web.public.forms import (
    FormErrors,
    form_values,
    preferences_from_form,
    prefs_values,
)
from service.web.public.home import checked_email, email_error, timezones
from service.web.public.learned import learned_view
from service.web.templating import render

router = APIRouter()

DONE = {
    "saved": "Your preferences are saved.",
    "confirmed": "Your subscription is confirmed. Welcome! Pick topics and keywords to tune your digests.",
    "already-confirmed": "Your subscription was already confirmed.",
    "paused": "Digests are paused. Resume them whenever you like.",
    "resumed": "Digests are on again.",
    "address": "Your new address is confirmed. Links sent to the old address no longer work.",
    "address-sent": "We sent a confirmation link to the new address. The change happens when you open it.",
    "resubscribed": "You are subscribed again.",
    "seeds-chosen": "The papers you picked are added to your seed papers.",
    "seed-removed": "The seed paper is removed.",
    "vote-removed": "The vote is removed.",
    "reset": "papermail forgot what it learned from your votes and seed papers. Your settings are unchanged.",
}


def load_subscriber(request: Request, token: str) -> Subscriber:
    state = public(request)
    with session_scope(state.settings) as session:
        subscriber, _ = linked_subscriber(session, state.settings, "preferences", token)
        return subscriber


def _preview(request: Request, subscriber: Subscriber, prefs: Preferences) -> list[Any]:
    state = public(request)
    window = state.window.window(state.settings, datetime.now(UTC))
    return matched_papers(state.settings, window, subscriber, prefs, preview_since(window, prefs))


def page_context(request: Request, subscriber: Subscriber, token: str, values: dict[str, Any],
                 errors: dict[str, str], prefs: Preferences, **extra: Any) -> dict[str, Any]:
    """Everything the page shows; EXTRA: what a form just did (the seed form's report)."""
    state = public(request)
    settings, sid, version = state.settings, subscriber.id, subscriber.token_version
    return {
        "page_title": "Your preferences",
        "subscriber": subscriber,
        "token": token,
        "values": values,
        "errors": errors,
        "topics": state.home.data(settings).topics,
        "timezones": timezones(),
        "hours": range(24),
        "preview": _preview(request, subscriber, prefs),
        "done": DONE.get(request.query_params.get("done", "")),
        "archive_url": link(settings, "archive", sid, version),
        "feed_url": link(settings, "feed", sid, version),
        "unsubscribe_url": link(settings, "unsubscribe", sid, version),
        "learned": learned_view(settings, sid),
        "seeds_result": None,
        **extra,
    }


@router.get("/preferences/{token}")
async def show(request: Request, token: str) -> Response:
    def run() -> dict[str, Any]:
        subscriber = load_subscriber(request, token)
        prefs = preferences_of(subscriber)
        return page_context(request, subscriber, token, prefs_values(prefs, subscriber.email), {}, prefs)

    return render(request, "public/preferences.html", await run_in_threadpool(run))


@router.post("/preferences/{token}")
async def save(request: Request, token: str) -> Response:
    form = await read_form(request)
    check_csrf(request, form, "preferences")
    state = public(request)

    def run() -> dict[str, Any] | None:
        subscriber = load_subscriber(request, token)
        stored = preferences_of(subscriber)
        known = state.home.data(state.settings).slugs
        try:
            prefs = preferences_from_form(form, known, stored)
        except FormErrors as exc:
            values = {**prefs_values(stored, subscriber.email), **form_values(form)}
            return page_context(request, subscriber, token, values, exc.errors, stored)
        _change(request, token, lambda session, sub: save_preferences(session, sub, prefs, datetime.now(UTC)))
        return None

    context = await run_in_threadpool(run)
    if context is not None:
        return render(request, "public/preferences.html", context, status_code=422)
    return RedirectResponse(f"/preferences/{token}?done=saved#saved", status_code=303)


@router.get("/preferences/{token}/preview")
async def preview(request: Request, token: str) -> Response:
    """The preview for the form's current (unsaved) values: an HTML fragment for the script."""
    state = public(request)

    def run() -> tuple[dict[str, Any], int]:
        subscriber = load_subscriber(request, token)
        known = state.home.data(state.settings).slugs
        try:
            prefs = preferences_from_form(request.query_params, known, preferences_of(subscriber))
        except FormErrors as exc:
            return {"preview": [], "errors": exc.errors}, 422
        return {"preview": _preview(request, subscriber, prefs), "errors": {}}, 200

    context, status = await run_in_threadpool(run)
    return render(request, "public/_preview.html", context, status_code=status)


def _change(request: Request, token: str, action: Callable[[Session, Subscriber], Mail | None | bool]) -> Mail | None:
    """Run ACTION on the token's subscriber in one transaction; the mail it returns, if any."""
    state = public(request)
    with writing(state) as session:
        subscriber, _ = linked_subscriber(session, state.settings, "preferences", token)
        result = action(session, subscriber)
    return result if isinstance(result, Mail) else None


async def _post_action(request: Request, token: str, form_name: str, done: str,
                       action: Callable[[Session, Subscriber], Mail | None | bool]) -> Response:
    form = await read_form(request)
    check_csrf(request, form, form_name)
    mail = await run_in_threadpool(_change, request, token, action)
    await hand_over(request, mail)
    return RedirectResponse(f"/preferences/{token}?done={done}", status_code=303)


@router.post("/preferences/{token}/pause")
async def pause(request: Request, token: str) -> Response:
    return await _post_action(request, token, "pause", "paused",
                              lambda s, sub: set_paused(s, sub, True, datetime.now(UTC)))


@router.post("/preferences/{token}/resume")
async def resume(request: Request, token: str) -> Response:
    return await _post_action(request, token, "resume", "resumed",
                              lambda s, sub: set_paused(s, sub, False, datetime.now(UTC)))


@router.post("/preferences/{token}/resubscribe")
async def resubscribe_here(request: Request, token: str) -> Response:
    return await _post_action(request, token, "resubscribe", "resubscribed",
                              lambda s, sub: resubscribe(s, sub, datetime.now(UTC)))


@router.post("/preferences/{token}/email")
async def change_email(request: Request, token: str) -> Response:
    form = await read_form(request)
    check_csrf(request, form, "email")
    state = public(request)
    limit(request, "address change", (state.limits.link_ip, ip_key(request)))
    try:
        address = checked_email(text(form, "email"))
    except InvalidSubscriber as exc:
        problem = email_error(exc)

        def run() -> dict[str, Any]:
            subscriber = load_subscriber(request, token)
            prefs = preferences_of(subscriber)
            values = {**prefs_values(prefs, subscriber.email), "new_email": text(form, "email")[:400]}
            return page_context(request, subscriber, token, values, {"new_email": problem}, prefs)

        return render(request, "public/preferences.html", await run_in_threadpool(run), status_code=422)
    limit(request, "address change", (state.limits.link_address, f"address:{address}"))
    mail = await run_in_threadpool(
        _change, request, token, lambda s, sub: request_address_change(s, sub, address, datetime.now(UTC))
    )
    await hand_over(request, mail)
    return RedirectResponse(f"/preferences/{token}?done=address-sent", status_code=303)
