"""/confirm/{token}: activates a subscription (or an address change) and leads to the
preferences page; an expired link offers a fresh one."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from service.actions.readers import confirm, resend_confirmation
from service.subscribers.lifecycle import AddressTaken, Confirmed, LinkError, Mail
from service.subscribers.tokens import ExpiredToken, make_token
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



@router.get("/confirm/{token}")
async def confirm_link(request: Request, token: str) -> Response:
    state = public(request)

    def run() -> tuple[Confirmed, str]:
        with writing(state) as session:
            done = confirm(session, state.settings, token, datetime.now(UTC))
            subscriber = done.subscriber
            return done, make_token(state.settings, "preferences", subscriber.id, subscriber.token_version)

    try:
        done, preferences_token = await run_in_threadpool(run)
    except ExpiredToken:
        context = {"page_title": "Link expired", "token": token, "hours": state.settings.confirm_token_max_age_hours}
        return render(request, "public/confirm_expired.html", context, status_code=410)
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
