"""/admin/subscribers/{id}: preferences, status history, deliveries and their papers, the next
digest's preview, and every action on one subscriber (each written to the audit log)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin import audit
from service.subscribers.bounces import lift_suppression
from service.storage.db import session_scope
from service.digests.preview import preview_digest
from service.subscribers.erase import erase
from service.mail import DeliveryError, MessageError
from service.storage.models import AuditLog, Delivery, DeliveryPaper, Paper, Subscriber, Topic
from service.subscribers.lifecycle import Mail
from service.subscribers.store import (
    InvalidSubscriber,
    apply_preferences,
    find_by_email,
    normalise_email,
    preferences_of,
)
from service.topics.store import current_taxonomy
from service.web.admin.auth import AdminRoute
from service.web.admin.pages import (
    admin_of,
    done,
    form_of,
    message,
    notice,
    now,
    page,
    settings_of,
    state,
    text,
)
from service.web.admin.subscribers import AUDITED, set_status
from service.web.public.forms import (
    FormErrors,
    form_values,
    preferences_from_form,
    prefs_values,
)
from service.web.public.home import timezones

router = APIRouter(prefix="/admin/subscribers/{subscriber_id}", route_class=AdminRoute, include_in_schema=False)
STATUS_ACTIONS = {"paused", "active", "unsubscribed"}
NOTICES = {"saved": "Saved.", "paused": "Suspended: no digests until reactivated.", "active": "Reactivated.",
           "unsubscribed": "Unsubscribed.", "confirmation": "A new confirmation mail is on its way.",
           "test": "A test digest was sent to your address.", "lifted": "The suppression was lifted.",
           "erase-unconfirmed": "Nothing was erased: tick the box to confirm.",
           "not-pending": "Only a pending subscriber is sent a confirmation mail."}
# The preview is mail HTML (inline styles): framed from the detail page, never scripted.
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'"
MAX_ID = 2**31 - 1


def load(session: Session, subscriber_id: int) -> Subscriber | None:
    return session.get(Subscriber, subscriber_id) if 1 <= subscriber_id <= MAX_ID else None


def not_found(request: Request, subscriber_id: int) -> Response:
    return message(request, 404, "No such subscriber", f"There is no subscriber {subscriber_id}.")


def detail_context(session: Session, subscriber: Subscriber) -> dict[str, Any]:
    current_taxonomy(session)
    history = session.scalars(select(AuditLog).where(
        AuditLog.target_type == "subscriber", AuditLog.target_id == str(subscriber.id))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(50)).all()
    deliveries = session.scalars(select(Delivery).where(Delivery.subscriber_id == subscriber.id)
                                 .order_by(Delivery.id.desc()).limit(20)).all()
    papers: dict[int, list[Any]] = {d.id: [] for d in deliveries}
    if deliveries:
        rows = session.execute(select(DeliveryPaper.delivery_id, Paper.title, Paper.abs_url, Paper.id)
                               .join(Paper, Paper.id == DeliveryPaper.paper_id)
                               .where(DeliveryPaper.delivery_id.in_(list(papers)))
                               .order_by(DeliveryPaper.delivery_id, DeliveryPaper.rank))
        for delivery_id, title, url, paper_id in rows:
            papers[delivery_id].append({"title": title, "url": url, "id": paper_id})
    return {"subscriber": subscriber, "history": history, "deliveries": deliveries, "papers": papers,
            "topics": session.scalars(select(Topic).order_by(Topic.position, Topic.id)).all(),
            "hours": range(24), "timezones": timezones(), "page_title": subscriber.email}


@router.get("")
def detail(request: Request, subscriber_id: int) -> Response:
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None:
            return not_found(request, subscriber_id)
        context = detail_context(session, subscriber)
        context.update(values=prefs_values(preferences_of(subscriber), subscriber.email), errors={},
                       notice=notice(request, NOTICES))
        return page(request, "subscribers/detail.html", context, section="subscribers")


@router.get("/preview")
def preview(request: Request, subscriber_id: int) -> Response:
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        email = subscriber.email if subscriber is not None and subscriber.status != "erased" else None
    if email is None:
        return not_found(request, subscriber_id)
    rendered = preview_digest(settings_of(request), email, now(), state(request).tools.renderer)
    return HTMLResponse(rendered.html, headers={"content-security-policy": PREVIEW_CSP,
                                                "x-frame-options": "SAMEORIGIN", "cache-control": "no-store"})


@router.post("")
def edit(request: Request, subscriber_id: int) -> Response:
    form = form_of(request)
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None or subscriber.status == "erased":
            return not_found(request, subscriber_id)
        before = audit.snapshot(subscriber, AUDITED)
        errors: dict[str, str] = {}
        try:
            address = normalise_email(text(form, "email", 320))
            other = find_by_email(session, address)
            if other is not None and other.id != subscriber.id:
                errors["email"] = f"{address} belongs to another subscriber"
        except InvalidSubscriber as exc:
            errors["email"] = str(exc).partition(": ")[2]
        try:
            prefs = preferences_from_form(form, set(current_taxonomy(session).slugs), preferences_of(subscriber))
        except FormErrors as exc:
            errors.update(exc.errors)
        if errors:
            context = detail_context(session, subscriber)
            context.update(values=form_values(form), errors=errors)
            return page(request, "subscribers/detail.html", context, section="subscribers", status_code=400)
        subscriber.email = address
        apply_preferences(subscriber, prefs)
        subscriber.updated_at = now()
        audit.record(session, admin_of(request).actor, "subscriber.update", "subscriber", subscriber.id,
                     *audit.changed(before, audit.snapshot(subscriber, AUDITED)))
    return done(f"/admin/subscribers/{subscriber_id}", "saved")


@router.post("/status")
def status(request: Request, subscriber_id: int) -> Response:
    wanted = text(form_of(request), "status")
    if wanted not in STATUS_ACTIONS:
        return message(request, 400, "Unknown action", "That status change is not one the admin offers.")
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None or subscriber.status == "erased":
            return not_found(request, subscriber_id)
        set_status(session, subscriber, wanted, admin_of(request).actor)
    return done(f"/admin/subscribers/{subscriber_id}", wanted)


@router.post("/resend-confirmation")
def resend_confirmation(request: Request, subscriber_id: int) -> Response:
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None:
            return not_found(request, subscriber_id)
        if subscriber.status != "pending":
            return done(f"/admin/subscribers/{subscriber_id}", "not-pending")
        # A new stamp makes a new message (and Message-ID): this is a second mail, not a retry.
        subscriber.confirmation_sent_at = now()
        audit.record(session, admin_of(request).actor, "subscriber.resend_confirmation", "subscriber", subscriber.id)
    state(request).dispatch(Mail("confirm", subscriber_id))  # after the commit, as the public pages do
    return done(f"/admin/subscribers/{subscriber_id}", "confirmation")


@router.post("/test-digest")
def test_digest(request: Request, subscriber_id: int) -> Response:
    admin, tools = admin_of(request), state(request).tools
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None or subscriber.status == "erased":
            return not_found(request, subscriber_id)
        email = subscriber.email
        audit.record(session, admin.actor, "subscriber.test_digest", "subscriber", subscriber_id, None, {"to": admin.email})
    rendered = preview_digest(settings_of(request), email, now(), tools.renderer)
    try:
        mail = tools.composer.compose(to_address=admin.email, subject=f"[Test] {rendered.subject}", text=rendered.text,
                                      html=rendered.html, message_key=f"test/{subscriber_id}/{secrets.token_hex(8)}",
                                      kind="test", date=now())
        tools.backend.send(mail.envelope_from, mail.to, mail.data)
    except (DeliveryError, MessageError) as exc:
        return message(request, 502, "The test digest was not sent", f"The mail backend said: {exc}.")
    return done(f"/admin/subscribers/{subscriber_id}", "test")


@router.post("/lift-suppression")
def lift(request: Request, subscriber_id: int) -> Response:
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None or subscriber.status != "suppressed":
            return not_found(request, subscriber_id)
        lift_suppression(session, subscriber, admin_of(request).actor, now())
    return done(f"/admin/subscribers/{subscriber_id}", "lifted")


@router.post("/erase")
def erase_page(request: Request, subscriber_id: int) -> Response:
    if text(form_of(request), "confirm") != "erase":
        return done(f"/admin/subscribers/{subscriber_id}", "erase-unconfirmed")
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None or subscriber.status == "erased":
            return not_found(request, subscriber_id)
    if erase(settings_of(request), subscriber_id, admin_of(request).actor, now()) is None:
        return not_found(request, subscriber_id)
    return done("/admin/subscribers", "erased")
