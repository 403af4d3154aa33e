"""/api/v1/subscribers: list and search, create, read, edit, change status, erase."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.admin import audit
from service.storage.db import session_scope
from service.subscribers.erase import ERASED, erase
from service.storage.models import Subscriber
from service.subscribers.store import (
    DuplicateSubscriber,
    InvalidSubscriber,
    apply_preferences,
    change_status,
    create_subscriber,
    find_by_email,
    normalise_email,
    parse_preferences,
    preferences_of,
)
from service.topics.store import current_taxonomy
from service.web.api.auth import ApiCaller, ApiRoute, app_settings, current_caller
from service.web.api.common import Limit, Offset, SubscriberId, page_of
from service.web.api.errors import ApiError, responses
from service.web.api.schemas import (
    EraseOut,
    Page,
    SafeStr,
    StatusChange,
    SubscriberCreate,
    SubscriberOut,
    SubscriberStatus,
    SubscriberUpdate,
)

router = APIRouter(prefix="/subscribers", tags=["subscribers"], route_class=ApiRoute)
SORTS = {"id": Subscriber.id, "email": Subscriber.email, "created_at": Subscriber.created_at}
# Columns an audit entry shows for a subscriber change.
AUDITED = ("email", "status", "preferences", "suppressed_reason", "confirmed_at", "unsubscribed_at")


def out(subscriber: Subscriber) -> SubscriberOut:
    return SubscriberOut.model_validate(subscriber, from_attributes=True)


def get_subscriber(session: Session, subscriber_id: int, *, editable: bool = False) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise ApiError(404, f"no subscriber {subscriber_id}")
    if editable and subscriber.status == ERASED:
        raise ApiError(409, f"subscriber {subscriber_id} was erased")
    return subscriber


def invalid(exc: InvalidSubscriber) -> ApiError:
    """The service's one-line error, with the field it names placed in the request body."""
    if isinstance(exc, DuplicateSubscriber):
        return ApiError(409, str(exc), code="duplicate", field="body.email")
    name = str(exc).partition(": ")[0]
    return ApiError(422, str(exc), field="body.email" if name == "email" else f"body.preferences.{name}")


@router.get("", response_model=Page[SubscriberOut], summary="List and search subscribers")
def list_subscribers(
    settings: Annotated[Settings, Depends(app_settings)],
    limit: Limit = 50,
    offset: Offset = 0,
    q: Annotated[SafeStr | None, Query(max_length=320, description="Part of the address.")] = None,
    status: SubscriberStatus | None = None,
    frequency: Literal["daily", "weekdays", "weekly"] | None = None,
    sort: Literal["id", "-id", "email", "-email", "created_at", "-created_at"] = "id",
) -> Page[SubscriberOut]:
    query = select(Subscriber)
    if q:
        query = query.where(Subscriber.email.contains(q.strip().lower(), autoescape=True))
    if status:
        query = query.where(Subscriber.status == status)
    if frequency:
        query = query.where(Subscriber.frequency == frequency)
    column = SORTS[sort.lstrip("-")]
    query = query.order_by(column.desc() if sort.startswith("-") else column, Subscriber.id)
    with session_scope(settings) as session:
        rows, total = page_of(session, query, limit, offset)
        return Page[SubscriberOut](items=[out(s) for s in rows], total=total, limit=limit, offset=offset)


@router.post("", response_model=SubscriberOut, status_code=201, responses=responses(409),
             summary="Create a subscriber (pending unless confirmed)")
def create(body: SubscriberCreate, settings: Annotated[Settings, Depends(app_settings)],
           caller: Annotated[ApiCaller, Depends(current_caller)]) -> SubscriberOut:
    try:
        with session_scope(settings) as session:
            prefs = parse_preferences(body.preferences.model_dump(), set(current_taxonomy(session).slugs))
            subscriber = create_subscriber(session, body.email, prefs, confirmed=body.confirmed, now=datetime.now(UTC))
            audit.record(session, caller.actor, "subscriber.create", "subscriber", subscriber.id, None,
                         audit.snapshot(subscriber, AUDITED))
            return out(subscriber)
    except InvalidSubscriber as exc:
        raise invalid(exc) from None


@router.get("/{subscriber_id}", response_model=SubscriberOut, responses=responses(404), summary="One subscriber")
def read(subscriber_id: SubscriberId, settings: Annotated[Settings, Depends(app_settings)]) -> SubscriberOut:
    with session_scope(settings) as session:
        return out(get_subscriber(session, subscriber_id))


@router.patch("/{subscriber_id}", response_model=SubscriberOut, responses=responses(404, 409),
              summary="Change the address or some preferences")
def update(subscriber_id: SubscriberId, body: SubscriberUpdate, settings: Annotated[Settings, Depends(app_settings)],
           caller: Annotated[ApiCaller, Depends(current_caller)]) -> SubscriberOut:
    try:
        with session_scope(settings) as session:
            subscriber = get_subscriber(session, subscriber_id, editable=True)
            before = audit.snapshot(subscriber, AUDITED)
            if body.email is not None:
                address = normalise_email(body.email)
                other = find_by_email(session, address)
                if other is not None and other.id != subscriber.id:
                    raise DuplicateSubscriber(f"email: {address} is already subscribed")
                subscriber.email = address
            if body.preferences is not None:
                merged = preferences_of(subscriber).model_dump()
                merged.update(body.preferences.model_dump(exclude_unset=True, exclude_none=True))
                apply_preferences(subscriber, parse_preferences(merged, set(current_taxonomy(session).slugs)))
            subscriber.updated_at = datetime.now(UTC)
            audit.record(session, caller.actor, "subscriber.update", "subscriber", subscriber.id,
                         *audit.changed(before, audit.snapshot(subscriber, AUDITED)))
            return out(subscriber)
    except InvalidSubscriber as exc:
        raise invalid(exc) from None


@router.post("/{subscriber_id}/status", response_model=SubscriberOut, responses=responses(404, 409),
             summary="Activate, pause, unsubscribe, suppress, or lift a suppression")
def set_status(subscriber_id: SubscriberId, body: StatusChange, settings: Annotated[Settings, Depends(app_settings)],
               caller: Annotated[ApiCaller, Depends(current_caller)]) -> SubscriberOut:
    with session_scope(settings) as session:
        subscriber = get_subscriber(session, subscriber_id, editable=True)
        before = audit.snapshot(subscriber, AUDITED)
        change_status(subscriber, body.status, body.reason, datetime.now(UTC))
        audit.record(session, caller.actor, f"subscriber.status.{body.status}", "subscriber", subscriber.id,
                     *audit.changed(before, audit.snapshot(subscriber, AUDITED)))
        return out(subscriber)


@router.delete("/{subscriber_id}", response_model=EraseOut, responses=responses(404, 409),
               summary="Erase: remove the subscriber's personal data everywhere, keep anonymous counts")
def erase_subscriber(subscriber_id: SubscriberId, settings: Annotated[Settings, Depends(app_settings)],
                     caller: Annotated[ApiCaller, Depends(current_caller)]) -> EraseOut:
    with session_scope(settings) as session:
        get_subscriber(session, subscriber_id, editable=True)
    report = erase(settings, subscriber_id, caller.actor, datetime.now(UTC))
    if report is None:
        raise ApiError(404, f"no subscriber {subscriber_id}")
    return EraseOut(subscriber_id=subscriber_id, deliveries_scrubbed=report.deliveries_scrubbed,
                    reasons_cleared=report.reasons_cleared, audit_rows_scrubbed=report.audit_rows_scrubbed,
                    outbox_messages_deleted=len(report.outbox_files))
