"""/api/v1/subscribers: list and search, create, read, edit, change status, erase."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions import subscribers as actions
from service.actions.seeds import add_seeds
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.erase import ERASED
from service.subscribers.store import (
    DuplicateSubscriber,
    InvalidSubscriber,
    parse_preferences,
    preferences_of,
)
from service.topics.followers import has_topic
from service.topics.store import current_taxonomy
from service.web.api.auth import ApiCaller, ApiRoute, app_settings, current_caller, needs
from service.web.api.common import Limit, Offset, SubscriberId, page_of
from service.web.api.errors import ApiError, responses
from service.web.api.seeds import like_refs
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


@router.get("", response_model=Page[SubscriberOut], responses=responses(403),
            summary="List and search subscribers (owner tokens: it lists addresses)")
@needs("export")
def list_subscribers(
    settings: Annotated[Settings, Depends(app_settings)],
    limit: Limit = 50,
    offset: Offset = 0,
    q: Annotated[SafeStr | None, Query(max_length=320, description="Part of the address.")] = None,
    status: SubscriberStatus | None = None,
    frequency: Literal["daily", "weekdays", "weekly"] | None = None,
    topic: Annotated[str | None, Query(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64,
                                       description="Only those who follow this topic (its slug).")] = None,
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
        if topic:
            query = query.where(has_topic(session, topic))
        rows, total = page_of(session, query, limit, offset)
        return Page[SubscriberOut](items=[out(s) for s in rows], total=total, limit=limit, offset=offset)


@router.post("", response_model=SubscriberOut, status_code=201, responses=responses(409),
             summary="Create a subscriber (pending unless confirmed)")
def create(body: SubscriberCreate, settings: Annotated[Settings, Depends(app_settings)],
           caller: Annotated[ApiCaller, Depends(current_caller)]) -> SubscriberOut:
    seeds = like_refs(body.like)
    try:
        with session_scope(settings) as session:
            prefs = parse_preferences(body.preferences.model_dump(), set(current_taxonomy(session).slugs))
            subscriber = actions.add_subscriber(session, body.email, prefs, confirmed=body.confirmed,
                                                actor=caller.actor, now=datetime.now(UTC))
            if seeds:
                added = add_seeds(session, subscriber, seeds, caller.actor, datetime.now(UTC))
                if added.ambiguous:  # nothing is created: the caller names the paper by its arXiv id
                    raise ApiError(422, added.ambiguous[0].describe(), field="body.like")
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
            prefs = None
            if body.preferences is not None:
                merged = preferences_of(subscriber).model_dump()
                merged.update(body.preferences.model_dump(exclude_unset=True, exclude_none=True))
                prefs = parse_preferences(merged, set(current_taxonomy(session).slugs))
            actions.edit_subscriber(session, subscriber, email=body.email, prefs=prefs, actor=caller.actor,
                                    now=datetime.now(UTC))
            return out(subscriber)
    except InvalidSubscriber as exc:
        raise invalid(exc) from None


@router.post("/{subscriber_id}/status", response_model=SubscriberOut, responses=responses(404, 409),
             summary="Activate, pause, unsubscribe, suppress, or lift a suppression")
def set_status(subscriber_id: SubscriberId, body: StatusChange, settings: Annotated[Settings, Depends(app_settings)],
               caller: Annotated[ApiCaller, Depends(current_caller)]) -> SubscriberOut:
    with session_scope(settings) as session:
        subscriber = get_subscriber(session, subscriber_id, editable=True)
        actions.change_subscriber_status(session, subscriber, body.status, actor=caller.actor, now=datetime.now(UTC),
                                         reason=body.reason)
        return out(subscriber)


@router.delete("/{subscriber_id}", response_model=EraseOut, responses=responses(404, 409),
               summary="Erase: remove the subscriber's personal data everywhere, keep anonymous counts")
def erase_subscriber(subscriber_id: SubscriberId, settings: Annotated[Settings, Depends(app_settings)],
                     caller: Annotated[ApiCaller, Depends(current_caller)]) -> EraseOut:
    with session_scope(settings) as session:
        subscriber = get_subscriber(session, subscriber_id, editable=True)
        report = actions.erase_subscriber(session, subscriber, actor=caller.actor, now=datetime.now(UTC),
                                          outbox_dir=settings.outbox_dir)
    report.after_commit(settings)
    return EraseOut(subscriber_id=subscriber_id, deliveries_scrubbed=report.deliveries_scrubbed,
                    reasons_cleared=report.reasons_cleared, audit_rows_scrubbed=report.audit_rows_scrubbed,
                    outbox_messages_deleted=len(report.outbox_files))
