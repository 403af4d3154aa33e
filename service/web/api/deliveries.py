"""/api/v1/deliveries: the send log, filtered; retry a failed digest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from config.settings import Settings
from service.actions import deliveries as actions
from service.digests.run import stamped_batches
from service.storage.db import session_scope
from service.storage.models import Delivery
from service.task_queue import TaskQueue
from service.web.api.auth import ApiCaller, ApiRoute, app_settings, current_caller
from service.web.api.common import MAX_ID, DeliveryId, Limit, Offset, as_utc, page_of
from service.web.api.errors import ApiError, responses
from service.web.api.schemas import DeliveryOut, DeliveryStatus, Page
from service.web.api.sources import task_queue

router = APIRouter(prefix="/deliveries", tags=["deliveries"], route_class=ApiRoute)


def out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut.model_validate(delivery, from_attributes=True)


@router.get("", response_model=Page[DeliveryOut], summary="The send log, newest first")
def list_deliveries(
    settings: Annotated[Settings, Depends(app_settings)],
    limit: Limit = 50,
    offset: Offset = 0,
    status: DeliveryStatus | None = None,
    subscriber_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: Annotated[datetime | None, Query(description="Claimed at or after (UTC if no offset).")] = None,
    until: Annotated[datetime | None, Query(description="Claimed before (UTC if no offset).")] = None,
) -> Page[DeliveryOut]:
    query = select(Delivery)
    if status:
        query = query.where(Delivery.status == status)
    if subscriber_id:
        query = query.where(Delivery.subscriber_id == subscriber_id)
    if since:
        query = query.where(Delivery.claimed_at >= as_utc(since))
    if until:
        query = query.where(Delivery.claimed_at < as_utc(until))
    query = query.order_by(Delivery.claimed_at.desc(), Delivery.id.desc())
    with session_scope(settings) as session:
        rows, total = page_of(session, query, limit, offset)
        return Page[DeliveryOut](items=[out(d) for d in rows], total=total, limit=limit, offset=offset)


@router.get("/{delivery_id}", response_model=DeliveryOut, responses=responses(404), summary="One delivery")
def read_delivery(delivery_id: DeliveryId, settings: Annotated[Settings, Depends(app_settings)]) -> DeliveryOut:
    with session_scope(settings) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise ApiError(404, f"no delivery {delivery_id}")
        return out(delivery)


@router.post("/{delivery_id}/retry", response_model=DeliveryOut, status_code=202, responses=responses(404, 409),
             summary="Send a failed digest again (queued for the workers)")
def retry_delivery(delivery_id: DeliveryId, settings: Annotated[Settings, Depends(app_settings)],
                   caller: Annotated[ApiCaller, Depends(current_caller)],
                   queue: Annotated[TaskQueue, Depends(task_queue)]) -> DeliveryOut:
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise ApiError(404, f"no delivery {delivery_id}")
        try:
            actions.retry_delivery(session, delivery, actor=caller.actor, now=now)
        except actions.RetryRefused as exc:
            if exc.what == "delivery":
                raise ApiError(409, f"delivery {delivery_id} is {exc.status}; only a failed one is retried") from None
            raise ApiError(409, f"the subscriber is {exc.status}; only an active subscriber is sent digests") from None
    for ids, token in stamped_batches(settings, [delivery_id], now):
        queue.send_digest_batch(ids, token)
    with session_scope(settings) as session:
        return out(session.get(Delivery, delivery_id))  # type: ignore[arg-type]
