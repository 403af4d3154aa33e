"""/unsubscribe/{token}. GET shows one button and changes nothing (mail scanners fetch every
link); POST unsubscribes. The RFC 8058 one-click POST a mailbox provider sends (body
``List-Unsubscribe=One-Click``, no cookies) needs no CSRF token — the unguessable token in
the URL is the proof — and is answered 200 with no redirect. A resubscribe button follows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from service.storage.models import Subscriber
from service.actions.readers import resubscribe, unsubscribe
from service.subscribers.lifecycle import Mail
from service.subscribers.tokens import link
from service.web.public.context import (
    check_csrf,
    hand_over,
    linked_subscriber,
    public,
    read_form,
    writing,
)
from service.web.templating import render

router = APIRouter()
ONE_CLICK = ("List-Unsubscribe", "One-Click")


def _context(request: Request, subscriber: Subscriber, token: str) -> dict[str, Any]:
    settings = public(request).settings
    return {
        "page_title": "Unsubscribe",
        "subscriber": subscriber,
        "token": token,
        "resubscribed": request.query_params.get("done") == "resubscribed",
        "preferences_url": link(settings, "preferences", subscriber.id, subscriber.token_version),
    }


def _run(request: Request, token: str, action: Any = None) -> tuple[Subscriber, Mail | None]:
    state = public(request)
    with writing(state) as session:
        subscriber, _ = linked_subscriber(session, state.settings, "unsubscribe", token)
        result = action(session, subscriber) if action is not None else None
        return subscriber, result if isinstance(result, Mail) else None


@router.get("/unsubscribe/{token}")
async def page(request: Request, token: str) -> Response:
    subscriber, _ = await run_in_threadpool(_run, request, token)
    return render(request, "public/unsubscribe.html", _context(request, subscriber, token))


@router.post("/unsubscribe/{token}")
async def unsubscribe_post(request: Request, token: str) -> Response:
    form = await read_form(request)
    if form.get(ONE_CLICK[0]) != ONE_CLICK[1]:
        check_csrf(request, form, "unsubscribe")
    subscriber, _ = await run_in_threadpool(
        _run, request, token, lambda session, sub: unsubscribe(session, sub, datetime.now(UTC))
    )
    # 200 with the result, never a redirect: a one-click client does not follow one.
    return render(request, "public/unsubscribe.html", _context(request, subscriber, token))


@router.post("/unsubscribe/{token}/resubscribe")
async def resubscribe_post(request: Request, token: str) -> Response:
    form = await read_form(request)
    check_csrf(request, form, "resubscribe")
    _, mail = await run_in_threadpool(_run, request, token, lambda session, sub: resubscribe(session, sub, datetime.now(UTC)))
    await hand_over(request, mail)
    return RedirectResponse(f"/unsubscribe/{token}?done=resubscribed", status_code=303)
