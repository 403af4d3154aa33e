"""/admin/subscribers/{id}: preferences, status history, deliveries and their papers, the next
digest's preview, and every action on one subscriber (each written to the audit log)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from service.actions.bounces import lift_suppression
from service.admin.bounce_log import history_of
from service.actions.subscribers import (
    change_subscriber_status,
    checked_new_address,
    edit_subscriber,
    erase_subscriber,
    note_test_digest,
    resend_confirmation_mail,
)
from service.digests.preview import preview_digest, preview_ranking
from service.mail import DeliveryError, MessageError
from service.storage.db import session_scope
from service.matching.records import PARTS
from service.storage.models import AuditLog, Delivery, Paper, Subscriber, Topic
from service.subscribers.store import InvalidSubscriber, preferences_of
from service.topics.store import current_taxonomy
from service.web.admin.auth import AdminRoute
from service.web.admin.forms import form_of, text
from service.web.admin.responses import done, message, notice, page
from service.web.admin.state import admin_of, now, settings_of, state
from service.web.public.forms import (
    FormErrors,
    form_values,
    preferences_from_form,
    prefs_values,
)
from service.web.public.home import timezones

router = APIRouter(prefix="/admin/subscribers/{subscriber_id}", route_class=AdminRoute, include_in_schema=False)
STATUS_ACTIONS = {"paused", "active", "unsubscribed"}
NOTICES = {"saved": "Saved.", "paused": "Paused: no digests until resumed.", "active": "Resumed: digests again.",
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
                                 .options(undefer(Delivery.paper_ids)).order_by(Delivery.id.desc()).limit(20)).all()
    wanted = {i for d in deliveries for i in d.paper_ids or ()}
    found = {paper_id: {"title": title, "url": url, "id": paper_id} for paper_id, title, url in session.execute(
        select(Paper.id, Paper.title, Paper.abs_url).where(Paper.id.in_(wanted)))} if wanted else {}
    papers: dict[int, list[Any]] = {d.id: [found[i] for i in d.paper_ids or () if i in found] for d in deliveries}
    return {"subscriber": subscriber, "history": history, "deliveries": deliveries, "papers": papers,
            "bounces": history_of(session, subscriber.id, subscriber.email),
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


@router.get("/ranking")
def ranking(request: Request, subscriber_id: int) -> Response:
    """Every candidate of the next digest with its score and the score's parts: the data
    `papermail digest preview EMAIL --format json --limit 0` prints, as a table."""
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        email = subscriber.email if subscriber is not None and subscriber.status != "erased" else None
        max_papers = preferences_of(subscriber).max_papers if subscriber is not None and email else 0
    if email is None:
        return not_found(request, subscriber_id)
    ranked = preview_ranking(settings_of(request), email, now(), limit=0)["papers"]
    context = {"email": email, "subscriber_id": subscriber_id, "papers": ranked, "parts": PARTS,
               "max_papers": max_papers, "page_title": f"Ranking for {email}"}
    return page(request, "subscribers/ranking.html", context, section="subscribers")


@router.post("")
def edit(request: Request, subscriber_id: int) -> Response:
    form = form_of(request)
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None or subscriber.status == "erased":
            return not_found(request, subscriber_id)
        errors: dict[str, str] = {}
        address = ""
        try:
            address = checked_new_address(session, subscriber, text(form, "email", 320))
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
        edit_subscriber(session, subscriber, email=address, prefs=prefs, actor=admin_of(request).actor, now=now())
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
        change_subscriber_status(session, subscriber, wanted, actor=admin_of(request).actor, now=now())
    return done(f"/admin/subscribers/{subscriber_id}", wanted)


@router.post("/resend-confirmation")
def resend_confirmation(request: Request, subscriber_id: int) -> Response:
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None:
            return not_found(request, subscriber_id)
        mail = resend_confirmation_mail(session, subscriber, actor=admin_of(request).actor, now=now())
        if mail is None:
            return done(f"/admin/subscribers/{subscriber_id}", "not-pending")
    state(request).dispatch(mail)  # after the commit, as the public pages do
    return done(f"/admin/subscribers/{subscriber_id}", "confirmation")


@router.post("/test-digest")
def test_digest(request: Request, subscriber_id: int) -> Response:
    admin, tools = admin_of(request), state(request).tools
    with session_scope(settings_of(request)) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None or subscriber.status == "erased":
            return not_found(request, subscriber_id)
        email = subscriber.email
        note_test_digest(session, subscriber, actor=admin.actor, to=admin.email)
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
    settings = settings_of(request)
    with session_scope(settings) as session:
        subscriber = load(session, subscriber_id)
        if subscriber is None or subscriber.status == "erased":
            return not_found(request, subscriber_id)
        report = erase_subscriber(session, subscriber, actor=admin_of(request).actor, now=now(),
                                  outbox_dir=settings.outbox_dir)
    report.after_commit(settings)
    return done("/admin/subscribers", "erased")
