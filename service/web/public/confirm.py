"""/confirm/{token}: GET shows the confirmation page with one button and changes nothing (link
scanners such as Safe Links fetch every link in a mail); the button's POST activates the
subscription (or the address change), sends the welcome mail and leads to the preferences page.
An expired link offers a fresh one (410); a forged, tampered or revoked one is 404, on either
method.

The POST carries no CSRF token: the unguessable token in the URL is the proof that the mailbox
was read (as for RFC 8058's one-click unsubscribe), and a cross-site form could only confirm an
address whose link the forger already holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from service.actions.readers import ConfirmPage, confirm, confirmation_page, resend_confirmation
from service.storage.db import session_scope
from service.subscribers.lifecycle import AddressTaken, Confirmed, LinkError, Mail
from service.subscribers.tokens import ExpiredToken, link, make_token
from service.web.public.context import (
    PageError,
    check_csrf,
    hand_over,
    ip_key,
    limit,
    link_not_valid,
    public,
    read_form,
    writing,
)
from service.web.templating import render

router = APIRouter()


def _expired(request: Request, token: str) -> Response:
    hours = public(request).settings.confirm_token_max_age_hours
    context = {"page_title": "Link expired", "token": token, "hours": hours}
    return render(request, "public/confirm_expired.html", context, status_code=410)


@router.get("/confirm/{token}")
async def confirm_page(request: Request, token: str) -> Response:
    state = public(request)

    def read() -> tuple[ConfirmPage, str]:
        with session_scope(state.settings) as session:  # reads only: no write lock, no commit
            view = confirmation_page(session, state.settings, token)
            subscriber = view.subscriber
            return view, link(state.settings, "preferences", subscriber.id, subscriber.token_version)

    try:
        view, preferences_url = await run_in_threadpool(read)
    except ExpiredToken:
        return _expired(request, token)
    except LinkError as exc:
        raise link_not_valid(exc) from None
    context: dict[str, Any] = {"page_title": "Confirm your subscription", "view": view, "token": token,
                               "preferences_url": preferences_url}
    return render(request, "public/confirm.html", context)


@router.post("/confirm/{token}")
async def confirm_post(request: Request, token: str) -> Response:
    state = public(request)

    def run() -> tuple[Confirmed, str]:
        with writing(state) as session:
            done = confirm(session, state.settings, token, datetime.now(UTC))
            subscriber = done.subscriber
            return done, make_token(state.settings, "preferences", subscriber.id, subscriber.token_version)

    try:
        done, preferences_token = await run_in_threadpool(run)
    except ExpiredToken:
        return _expired(request, token)
    except LinkError as exc:
        raise link_not_valid(exc) from None
    except AddressTaken as exc:
        raise PageError(409, "Address already subscribed", str(exc)) from None
    await hand_over(request, done.mail)
    outcome = "address" if done.address_changed else ("confirmed" if done.first_time else "already-confirmed")
    return RedirectResponse(f"/preferences/{preferences_token}?done={outcome}", status_code=303)


@router.post("/confirm/{token}/renew")
async def renew(request: Request, token: str) -> Response:
    form = await read_form(request)
    check_csrf(request, form, "renew")
    state = public(request)
    limit(request, "link", (state.limits.link_ip, ip_key(request)))

    def run() -> Mail | None:
        with writing(state) as session:
            return resend_confirmation(session, state.settings, token, datetime.now(UTC))

    try:
        mail = await run_in_threadpool(run)
    except LinkError as exc:
        raise link_not_valid(exc) from None
    await hand_over(request, mail)
    return RedirectResponse("/check-inbox", status_code=303)
