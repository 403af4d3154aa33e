"""/admin/subscribers: the searchable, filterable, keyset-paged list and bulk status changes —
on the rows ticked, or on every subscriber the list's filters match ("all N matching"); the
notice says how many changed."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from service.actions.subscribers import change_subscriber_status
from service.storage.db import session_scope
from service.storage.models import Subscriber, Topic
from service.topics.store import current_taxonomy
from service.web.admin.auth import AdminRoute
from service.web.admin.listing import (
    FREQUENCIES,
    SORT_LABELS,
    STATUSES,
    SubscriberQuery,
    filtered,
    subscriber_page,
)
from service.web.admin.forms import back_to, form_of, int_param, text
from service.web.admin.responses import PAGE_SIZE, done, notice, page
from service.web.admin.state import admin_of, now, settings_of

router = APIRouter(prefix="/admin/subscribers", route_class=AdminRoute, include_in_schema=False)
BULK = {"pause": "paused", "resume": "active", "unsubscribe": "unsubscribed"}
MAX_BULK = 500
NOTICES = {"bulk": "{changed} subscribers changed; {same} already were.", "erased": "The subscriber was erased.",
           "none": "Nothing was selected.", "too-many": "At most 500 ticked rows at once: use “all matching” instead."}
CHUNK = 500  # "all matching" is changed this many at a time, each chunk read by id


def topic_choices(session: Any) -> list[tuple[str, str]]:
    current_taxonomy(session)  # seeds the shipped taxonomy on first use
    return [(slug, name) for slug, name in session.execute(select(Topic.slug, Topic.name).order_by(Topic.position))]


@router.get("")
def subscriber_list(request: Request) -> Response:
    params = request.query_params
    with session_scope(settings_of(request)) as session:
        topics = topic_choices(session)
        query = SubscriberQuery.from_params(params, {slug for slug, _ in topics})
        result = subscriber_page(session, query, after=int_param(params.get("after")),
                                 before=int_param(params.get("before")), size=PAGE_SIZE)
        context = {
            "page_title": "Subscribers", "query": query, "result": result, "topics": topics,
            "statuses": STATUSES, "frequencies": FREQUENCIES, "sorts": SORT_LABELS,
            "next_params": query.params(after=result.next_after) if result.next_after else None,
            "prev_params": query.params(before=result.prev_before) if result.prev_before else None,
            "first_params": query.params() if params.get("after") or params.get("before") else None,
            "bulk_actions": {"pause": "Pause", "resume": "Resume (active)", "unsubscribe": "Unsubscribe"},
            "notice": notice(request, NOTICES), "return_to": str(request.url.path) + (
                f"?{request.url.query}" if request.url.query else ""),
        }
        return page(request, "subscribers/list.html", context, section="subscribers")


def _apply(session: Any, rows: Any, status: str, actor: str) -> tuple[int, int]:
    changed = same = 0
    moment = now()
    for subscriber in rows:
        if change_subscriber_status(session, subscriber, status, actor=actor, now=moment):
            changed += 1
        else:
            same += 1
    return changed, same


@router.post("/bulk")
def bulk(request: Request) -> Response:
    form = form_of(request)
    status = BULK.get(text(form, "action"))
    back = back_to(text(form, "return_to", 2000), "/admin/subscribers")
    actor = admin_of(request).actor
    if status is None:
        return done(back, "none")
    if text(form, "scope") == "all":
        with session_scope(settings_of(request)) as session:
            topics = {slug for slug, _ in topic_choices(session)}
            query = SubscriberQuery.from_params(dict(parse_qsl(urlsplit(back).query)), topics)
            changed = same = 0
            last = 0
            while True:  # by id, a chunk at a time: the rows a change moves out of the filter are not skipped
                chunk = list(session.scalars(filtered(session, query).where(Subscriber.id > last)
                                             .order_by(Subscriber.id).limit(CHUNK)))
                if not chunk:
                    break
                last = chunk[-1].id
                c, s = _apply(session, chunk, status, actor)
                changed, same = changed + c, same + s
        return done(back, "bulk", changed=changed, same=same)
    ids = {i for i in (int_param(v, high=2**31 - 1) for v in form.getlist("ids") if isinstance(v, str)) if i}
    if not ids:
        return done(back, "none")
    if len(ids) > MAX_BULK:
        return done(back, "too-many")
    with session_scope(settings_of(request)) as session:
        chosen = select(Subscriber).where(Subscriber.id.in_(ids), Subscriber.status != "erased")
        changed, same = _apply(session, list(session.scalars(chosen)), status, actor)
    return done(back, "bulk", changed=changed, same=same)
