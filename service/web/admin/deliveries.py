"""/admin/deliveries: the send log filtered by status, date and subscriber (an id, or part of
the address), with failure reasons; one delivery's page with its papers and the message as sent
(the outbox file, or the Message-ID the relay took); retry a failed digest (a fresh claim, sent
by a worker under the usual exactly-once rules). Pages are keyset pages on the primary key,
newest first; a date that is not one is said, never ignored."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from service.actions.deliveries import RetryRefused, retry_delivery
from service.digests.run import stamped_batches
from service.storage.db import session_scope
from service.storage.models import Bounce, Delivery, Paper, Subscriber
from service.web.admin.auth import AdminRoute
from service.web.admin.forms import back_to, dates_of, form_of, int_param, start_of, text
from service.web.admin.outbox import outbox_name_for
from service.web.admin.responses import PAGE_SIZE, done, message, notice, page
from service.web.admin.state import admin_of, now, settings_of, state

router = APIRouter(prefix="/admin/deliveries", route_class=AdminRoute, include_in_schema=False)
STATUSES = ("claimed", "sending", "sent", "failed", "skipped")
NOTICES = {"retried": "The digest was claimed again and queued for the workers."}


@router.get("")
def delivery_list(request: Request) -> Response:
    params = request.query_params
    status = params.get("status", "") if params.get("status") in STATUSES else ""
    dates, errors = dates_of(params, "since", "until")
    since = dates["since"] if "since" not in errors else None
    until = dates["until"] if not errors else None
    who = params.get("subscriber", "").strip()[:320]
    after = int_param(params.get("after"))
    with session_scope(settings_of(request)) as session:
        stmt = select(Delivery, Subscriber.email).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        if status:
            stmt = stmt.where(Delivery.status == status)
        if since:
            stmt = stmt.where(Delivery.claimed_at >= start_of(since))
        if until:
            stmt = stmt.where(Delivery.claimed_at < start_of(until) + timedelta(days=1))
        if who:
            sid = int_param(who, high=2**31 - 1)
            stmt = stmt.where(Delivery.subscriber_id == sid if sid else
                              Subscriber.email.contains(who.lower(), autoescape=True))
        total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
        if after:
            stmt = stmt.where(Delivery.id < after)
        rows = session.execute(stmt.order_by(Delivery.id.desc()).limit(PAGE_SIZE + 1)).all()
        filters = {k: v for k, v in {"status": status, "since": params.get("since", "").strip(),
                                     "until": params.get("until", "").strip(), "subscriber": who}.items() if v}
        context = {"page_title": "Deliveries", "rows": rows[:PAGE_SIZE], "total": total, "statuses": STATUSES,
                   "filters": filters, "errors": errors, "notice": notice(request, NOTICES),
                   "next_params": {**filters, "after": rows[PAGE_SIZE - 1][0].id} if len(rows) > PAGE_SIZE else None,
                   "first_params": filters if after else None,
                   "return_to": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
        return page(request, "deliveries.html", context, section="deliveries", status_code=400 if errors else 200)


@router.get("/{delivery_id}")
def delivery_detail(request: Request, delivery_id: int) -> Response:
    settings = settings_of(request)
    with session_scope(settings) as session:
        delivery = session.get(Delivery, delivery_id) if 1 <= delivery_id < 2**63 else None
        if delivery is None:
            return message(request, 404, "No such delivery", f"There is no delivery {delivery_id}.")
        subscriber = session.get(Subscriber, delivery.subscriber_id)
        ids = delivery.paper_ids or []
        found = {row.id: row for row in session.execute(select(Paper.id, Paper.title, Paper.arxiv_id)
                                                        .where(Paper.id.in_(ids)))} if ids else {}
        papers = [found[i] for i in ids if i in found]  # in the digest's order
        bounces = session.scalars(select(Bounce).where(Bounce.delivery_id == delivery_id).order_by(Bounce.id)).all()
        context = {"page_title": f"Delivery {delivery_id}", "d": delivery, "subscriber": subscriber, "papers": papers,
                   "bounces": bounces, "outbox_name": outbox_name_for(settings.outbox_dir, delivery.message_id),
                   "backend": settings.mail_backend, "notice": notice(request, NOTICES),
                   "return_to": request.url.path}
        return page(request, "delivery.html", context, section="deliveries")


@router.post("/{delivery_id}/retry")
def retry(request: Request, delivery_id: int) -> Response:
    moment, settings = now(), settings_of(request)
    with session_scope(settings) as session:
        delivery = session.get(Delivery, delivery_id) if 1 <= delivery_id < 2**63 else None
        if delivery is None:
            return message(request, 404, "No such delivery", f"There is no delivery {delivery_id}.")
        try:
            retry_delivery(session, delivery, actor=admin_of(request).actor, now=moment)
        except RetryRefused as exc:
            explained = (f"That digest is {exc.status}; only a failed one is retried." if exc.what == "delivery"
                         else f"The subscriber is {exc.status}; only active subscribers get digests.")
            return message(request, 409, "Not retried", explained)
    # Enqueued only once the claim is committed: a worker never sees a row it cannot take.
    for ids, token in stamped_batches(settings, [delivery_id], moment):
        state(request).queue.send_digest_batch(ids, token)
    return done(back_to(text(form_of(request), "return_to", 2000), "/admin/deliveries"), "retried")
