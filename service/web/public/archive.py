"""/archive/{token}: a subscriber's past digests; /digest/{token}: one of them in the browser
(re-rendered from what the delivery kept — see content.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from service.digests.compose import vote_urls
from service.storage.db import session_scope
from service.storage.models import Delivery
from service.subscribers.tokens import link
from service.web.public.content import delivered_papers, past_deliveries
from service.web.public.context import PageError, linked_subscriber, public
from service.web.templating import render

router = APIRouter()


def _day(delivery: Delivery) -> Any:
    return delivery.due_at or delivery.sent_at or delivery.claimed_at


@router.get("/archive/{token}")
async def archive(request: Request, token: str) -> Response:
    settings = public(request).settings

    def run() -> dict[str, Any]:
        with session_scope(settings) as session:
            subscriber, _ = linked_subscriber(session, settings, "archive", token)
            version = subscriber.token_version
            digests = [
                {
                    "day": _day(d),
                    "count": d.paper_count or 0,
                    "url": link(settings, "digest", subscriber.id, version, d=d.id),
                }
                for d in past_deliveries(session, subscriber.id)
            ]
            return {
                "page_title": "Your past digests",
                "subscriber": subscriber,
                "digests": digests,
                "preferences_url": link(settings, "preferences", subscriber.id, version),
            }

    return render(request, "public/archive.html", await run_in_threadpool(run))


@router.get("/digest/{token}")
async def digest(request: Request, token: str) -> Response:
    settings = public(request).settings

    def run() -> dict[str, Any]:
        with session_scope(settings) as session:
            subscriber, data = linked_subscriber(session, settings, "digest", token)
            delivery_id = data.extra.get("d")
            delivery = session.get(Delivery, delivery_id) if isinstance(delivery_id, int) else None
            if delivery is None or delivery.subscriber_id != subscriber.id or delivery.status != "sent":
                raise PageError(404, "Digest not found", "This digest does not exist or was never sent.")
            papers = delivered_papers(session, delivery, lambda pid: vote_urls(settings, subscriber, pid))
            version = subscriber.token_version
            return {
                "page_title": "Your digest",
                "day": _day(delivery),
                "papers": papers,
                "archive_url": link(settings, "archive", subscriber.id, version),
                "preferences_url": link(settings, "preferences", subscriber.id, version),
            }

    return render(request, "public/digest.html", await run_in_threadpool(run))
