"""/api/v1/sources: list with health, create, edit, enable/disable, ingest now, delete (the
papers stay). URLs on private, loopback or link-local addresses are refused unless
SOURCE_ALLOW_PRIVATE_URLS is set (service.actions.sources)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions import sources as actions
from service.ingest.health import source_health
from service.ingest.poll import sync_sources
from service.storage.db import session_scope
from service.storage.models import Source
from service.task_queue import TaskQueue
from service.web.api.auth import ApiCaller, ApiRoute, app_settings, current_caller
from service.web.api.common import SourceName
from service.web.api.errors import ApiError, responses
from service.web.api.schemas import Enqueued, SourceCreate, SourceOut, SourceUpdate

router = APIRouter(prefix="/sources", tags=["sources"], route_class=ApiRoute)


def task_queue(request: Request) -> TaskQueue:
    queue: TaskQueue = request.app.state.task_queue
    return queue


def out(source: Source, settings: Settings, now: datetime) -> SourceOut:
    health = source_health(source, now, timedelta(hours=settings.source_stale_hours))
    values = {name: getattr(source, name) for name in SourceOut.model_fields if name != "health"}
    return SourceOut(health=health, **values)


def invalid(exc: actions.InvalidSource) -> ApiError:
    return ApiError(422, str(exc), field=f"body.{exc.field}")


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
    try:
        with session_scope(settings) as session:
            sync_sources(session, settings)
            source = actions.add_source(session, values, actor=caller.actor, now=datetime.now(UTC),
                                        allow_private=settings.source_allow_private_urls)
            return out(source, settings, datetime.now(UTC))
    except actions.InvalidSource as exc:
        raise invalid(exc) from None
    except actions.SourceExists as exc:
        raise ApiError(409, str(exc), field="body.name") from None


def edit(settings: Settings, name: str, change: Callable[[Session, Source], None]) -> SourceOut:
    with session_scope(settings) as session:
        sync_sources(session, settings)
        source = get_source(session, name)
        try:
            change(session, source)
        except actions.InvalidSource as exc:
            raise invalid(exc) from None
        return out(source, settings, datetime.now(UTC))


@router.patch("/{name}", response_model=SourceOut, responses=responses(404), summary="Edit a source")
def update_source(name: SourceName, body: SourceUpdate, settings: Annotated[Settings, Depends(app_settings)],
                  caller: Annotated[ApiCaller, Depends(current_caller)]) -> SourceOut:
    changes = body.model_dump(exclude_none=True)
    return edit(settings, name, lambda session, source: actions.update_source(
        session, source, changes, actor=caller.actor, allow_private=settings.source_allow_private_urls))


@router.post("/{name}/enable", response_model=SourceOut, responses=responses(404), summary="Poll this source again")
def enable_source(name: SourceName, settings: Annotated[Settings, Depends(app_settings)],
                  caller: Annotated[ApiCaller, Depends(current_caller)]) -> SourceOut:
    return edit(settings, name, lambda session, source: actions.set_source_enabled(session, source, True,
                                                                                  actor=caller.actor))


@router.post("/{name}/disable", response_model=SourceOut, responses=responses(404), summary="Stop polling this source")
def disable_source(name: SourceName, settings: Annotated[Settings, Depends(app_settings)],
                   caller: Annotated[ApiCaller, Depends(current_caller)]) -> SourceOut:
    return edit(settings, name, lambda session, source: actions.set_source_enabled(session, source, False,
                                                                                  actor=caller.actor))


@router.post("/{name}/ingest-now", response_model=Enqueued, status_code=202, responses=responses(404),
             summary="Queue a poll of this source for the workers")
def ingest_now(name: SourceName, settings: Annotated[Settings, Depends(app_settings)],
               caller: Annotated[ApiCaller, Depends(current_caller)],
               queue: Annotated[TaskQueue, Depends(task_queue)]) -> Enqueued:
    with session_scope(settings) as session:
        sync_sources(session, settings)
        actions.note_ingest_now(session, get_source(session, name), actor=caller.actor)
    task_id = queue.poll_source(name)
    return Enqueued(task_id=task_id, detail=f"poll of {name} queued")


@router.delete("/{name}", status_code=204, responses=responses(404, 409),
               summary="Delete a source (its papers stay); a source from the settings cannot be")
def delete_source(name: SourceName, settings: Annotated[Settings, Depends(app_settings)],
                  caller: Annotated[ApiCaller, Depends(current_caller)]) -> Response:
    with session_scope(settings) as session:
        sync_sources(session, settings)
        try:
            actions.delete_source(session, get_source(session, name), actor=caller.actor,
                                  configured={c.name for c in settings.sources})
        except actions.SourceConfigured as exc:
            raise ApiError(409, str(exc), code="configured") from None
    return Response(status_code=204)
