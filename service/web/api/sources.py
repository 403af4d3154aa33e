"""/api/v1/sources: list with health, create, edit, enable/disable, ingest now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings, SourceConfig
from service.admin import audit
from service.storage.db import session_scope
from service.ingest.health import source_health
from service.ingest.poll import sync_sources
from service.storage.models import Source
from service.task_queue import TaskQueue
from service.web.api.auth import ApiCaller, ApiRoute, app_settings, current_caller
from service.web.api.common import SourceName
from service.web.api.errors import ApiError, responses
from service.web.api.schemas import Enqueued, SourceCreate, SourceOut, SourceUpdate

router = APIRouter(prefix="/sources", tags=["sources"], route_class=ApiRoute)
EDITABLE = ("kind", "url", "poll_interval_minutes", "enabled")


def task_queue(request: Request) -> TaskQueue:
    queue: TaskQueue = request.app.state.task_queue
    return queue


def out(source: Source, settings: Settings, now: datetime) -> SourceOut:
    health = source_health(source, now, timedelta(hours=settings.source_stale_hours))
    values = {name: getattr(source, name) for name in SourceOut.model_fields if name != "health"}
    return SourceOut(health=health, **values)


def check_config(values: dict[str, Any]) -> None:
    """The rules a configured source obeys (name, kind, URL scheme, interval) hold for stored ones too."""
    try:
        SourceConfig(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        raise ApiError(422, f"{field}: {error['msg']}", field=f"body.{field}") from None
    if not values["url"].startswith(("http://", "https://")):
        raise ApiError(422, "url: must be an http(s) URL", field="body.url")


def get_source(session: Session, name: str) -> Source:
    source = session.scalars(select(Source).where(Source.name == name)).one_or_none()
    if source is None:
        raise ApiError(404, f"no source {name!r}")
    return source


@router.get("", response_model=list[SourceOut], summary="Every source with its health")
def list_sources(settings: Annotated[Settings, Depends(app_settings)]) -> list[SourceOut]:
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        sync_sources(session, settings)
        return [out(s, settings, now) for s in session.scalars(select(Source).order_by(Source.name))]


@router.get("/{name}", response_model=SourceOut, responses=responses(404), summary="One source")
def read_source(name: SourceName, settings: Annotated[Settings, Depends(app_settings)]) -> SourceOut:
    with session_scope(settings) as session:
        sync_sources(session, settings)
        return out(get_source(session, name), settings, datetime.now(UTC))


@router.post("", response_model=SourceOut, status_code=201, responses=responses(409), summary="Add a source")
def create_source(body: SourceCreate, settings: Annotated[Settings, Depends(app_settings)],
                  caller: Annotated[ApiCaller, Depends(current_caller)]) -> SourceOut:
    values = {"name": body.name, "kind": body.kind, "url": body.url,
              "poll_interval_minutes": body.poll_interval_minutes or 60,
              "enabled": True if body.enabled is None else body.enabled}
    check_config(values)
    with session_scope(settings) as session:
        sync_sources(session, settings)
        if session.scalars(select(Source.id).where(Source.name == body.name)).first() is not None:
            raise ApiError(409, f"a source {body.name!r} exists already", field="body.name")
        source = Source(**values, created_at=datetime.now(UTC))
        session.add(source)
        session.flush()
        audit.record(session, caller.actor, "source.create", "source", source.name, None, values)
        return out(source, settings, datetime.now(UTC))


def edit(settings: Settings, name: str, changes: dict[str, Any], actor: str, action: str) -> SourceOut:
    with session_scope(settings) as session:
        sync_sources(session, settings)
        source = get_source(session, name)
        before = {field: getattr(source, field) for field in EDITABLE}
        after = {**before, **changes}
        check_config({"name": name, **after})
        for field, value in changes.items():
            setattr(source, field, value)
        if changes.get("enabled") or "poll_interval_minutes" in changes:
            source.next_poll_at = None  # due at beat's next tick, not after the old interval
        audit.record(session, actor, action, "source", name, *audit.changed(before, after))
        return out(source, settings, datetime.now(UTC))


@router.patch("/{name}", response_model=SourceOut, responses=responses(404), summary="Edit a source")
def update_source(name: SourceName, body: SourceUpdate, settings: Annotated[Settings, Depends(app_settings)],
                  caller: Annotated[ApiCaller, Depends(current_caller)]) -> SourceOut:
    return edit(settings, name, body.model_dump(exclude_none=True), caller.actor, "source.update")


@router.post("/{name}/enable", response_model=SourceOut, responses=responses(404), summary="Poll this source again")
def enable_source(name: SourceName, settings: Annotated[Settings, Depends(app_settings)],
                  caller: Annotated[ApiCaller, Depends(current_caller)]) -> SourceOut:
    return edit(settings, name, {"enabled": True}, caller.actor, "source.enable")


@router.post("/{name}/disable", response_model=SourceOut, responses=responses(404), summary="Stop polling this source")
def disable_source(name: SourceName, settings: Annotated[Settings, Depends(app_settings)],
                   caller: Annotated[ApiCaller, Depends(current_caller)]) -> SourceOut:
    return edit(settings, name, {"enabled": False}, caller.actor, "source.disable")


@router.post("/{name}/ingest-now", response_model=Enqueued, status_code=202, responses=responses(404),
             summary="Queue a poll of this source for the workers")
def ingest_now(name: SourceName, settings: Annotated[Settings, Depends(app_settings)],
               caller: Annotated[ApiCaller, Depends(current_caller)],
               queue: Annotated[TaskQueue, Depends(task_queue)]) -> Enqueued:
    with session_scope(settings) as session:
        sync_sources(session, settings)
        get_source(session, name)
        audit.record(session, caller.actor, "source.ingest_now", "source", name)
    task_id = queue.poll_source(name)
    return Enqueued(task_id=task_id, detail=f"poll of {name} queued")
