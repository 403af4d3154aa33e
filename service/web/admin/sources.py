"""/admin/sources: paper sources with their URL and health; add, edit, enable/disable, ingest
now, delete (the papers stay). A refused form says every problem, each in words.

"Ingest now" polls the source in this process after the response is sent (a FastAPI
background task): it works without a worker, and the page shows the outcome on reload.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from config.settings import Settings
from service.actions.sources import (
    EDITABLE,
    InvalidSource,
    SourceConfigured,
    SourceExists,
    add_source,
    check_source,
    delete_source,
    note_ingest_now,
    set_source_enabled,
    update_source,
)
from service.ingest.health import source_health
from service.ingest.poll import poll_source, sync_sources
from service.storage.db import session_scope
from service.storage.models import Source
from service.web.admin.auth import AdminRoute
from service.web.admin.forms import form_of, text
from service.web.admin.responses import done, message, notice, page
from service.web.admin.state import admin_of, now, settings_of

router = APIRouter(prefix="/admin/sources", route_class=AdminRoute, include_in_schema=False)
KINDS = {"hf_daily": "Hugging Face Daily Papers (JSON)", "arxiv_rss": "arXiv RSS", "arxiv_api": "arXiv API (Atom)",
         "feed": "Any RSS/Atom feed"}
NOTICES = {"created": "Source added.", "saved": "Saved.", "enabled": "Enabled: polled at the next tick.",
           "disabled": "Disabled: no longer polled.",
           "ingesting": "Ingesting now, in the background; reload in a moment to see the result.",
           "deleted": "Source deleted; its papers stay."}


LABELS = {"name": "Name", "kind": "Kind", "url": "URL", "poll_interval_minutes": "Poll every", "enabled": "Enabled"}


def values_from(form: FormData, name: str, settings: Settings, current_url: str | None = None,
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, problems) for a source from the form; the rules configured sources obey hold
    here too, and every problem is given (a URL kept as it was is not checked again)."""
    raw_interval = text(form, "poll_interval_minutes") or "60"
    values: dict[str, Any] = {"name": name, "kind": text(form, "kind"), "url": text(form, "url", 2048),
                              "poll_interval_minutes": int(raw_interval) if raw_interval.isdigit() else -1,
                              "enabled": text(form, "enabled") == "yes"}
    try:
        check_source(values, allow_private=settings.source_allow_private_urls or values["url"] == current_url)
    except InvalidSource as exc:
        return values, exc.problems
    return values, {}


def rows(session: Session, settings: Settings) -> list[dict[str, Any]]:
    sync_sources(session, settings)
    stale, moment = timedelta(hours=settings.source_stale_hours), now()
    return [{"source": s, "health": source_health(s, moment, stale)}
            for s in session.scalars(select(Source).order_by(Source.name))]


def listing(request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    settings = settings_of(request)
    with session_scope(settings) as session:
        context = {"page_title": "Sources", "sources": rows(session, settings), "kinds": KINDS, "values": values,
                   "errors": errors, "labels": LABELS, "notice": notice(request, NOTICES),
                   "configured": {c.name for c in settings.sources}}
        return page(request, "sources/list.html", context, section="sources", status_code=status)


@router.get("")
def source_list(request: Request) -> Response:
    return listing(request, {"kind": "feed", "poll_interval_minutes": 60, "enabled": True}, {})


@router.post("")
def create(request: Request) -> Response:
    settings = settings_of(request)
    values, errors = values_from(form_of(request), text(form_of(request), "name", 64), settings)
    if errors:
        return listing(request, values, errors, 400)
    with session_scope(settings) as session:
        sync_sources(session, settings)
        try:
            add_source(session, values, actor=admin_of(request).actor, now=now(), allow_private=True)  # checked above
        except SourceExists:
            session.rollback()
            return listing(request, values, {"name": f"a source named {values['name']!r} exists already"}, 400)
    return done("/admin/sources", "created")


def _source(session: Session, settings: Settings, name: str) -> Source | None:
    sync_sources(session, settings)
    return session.scalars(select(Source).where(Source.name == name)).one_or_none()


def _missing(request: Request) -> Response:
    return message(request, 404, "No such source", "That source does not exist.")


def edit_page(request: Request, name: str, values: dict[str, Any] | None = None,
              errors: dict[str, str] | None = None, error: str = "", status: int = 400) -> Response:
    """The source's edit form: its current values, or VALUES sent back with ERRORS (400)."""
    settings = settings_of(request)
    with session_scope(settings) as session:
        source = _source(session, settings, name)
        if source is None:
            return _missing(request)
        health = source_health(source, now(), timedelta(hours=settings.source_stale_hours))
        failed = bool(errors or error)
        context = {"page_title": name, "source": source, "health": health, "kinds": KINDS, "errors": errors or {},
                   "error": error, "labels": LABELS, "configured": name in {c.name for c in settings.sources},
                   "values": values or {field: getattr(source, field) for field in EDITABLE},
                   "notice": None if failed else notice(request, NOTICES)}
        return page(request, "sources/edit.html", context, section="sources", status_code=status if failed else 200)


@router.get("/{name}")
def edit_form(request: Request, name: str) -> Response:
    return edit_page(request, name)


@router.post("/{name}")
def edit(request: Request, name: str) -> Response:
    settings = settings_of(request)
    with session_scope(settings) as session:
        source = _source(session, settings, name)
        if source is None:
            return _missing(request)
        values, errors = values_from(form_of(request), name, settings, source.url)
        if errors:
            session.rollback()
            return edit_page(request, name, values, errors)
        update_source(session, source, {k: values[k] for k in EDITABLE}, actor=admin_of(request).actor,
                      allow_private=True)  # values_from checked the URL with the setting
    return done(f"/admin/sources/{name}", "saved")


@router.post("/{name}/delete")
def delete(request: Request, name: str) -> Response:
    settings = settings_of(request)
    with session_scope(settings) as session:
        source = _source(session, settings, name)
        if source is None:
            return _missing(request)
        try:
            delete_source(session, source, actor=admin_of(request).actor, configured={c.name for c in settings.sources})
        except SourceConfigured:
            session.rollback()
            return edit_page(request, name, error="This source comes from the settings (PAPERMAIL_SOURCES): "
                                                  "remove it there to delete it, or disable it here.", status=409)
    return done("/admin/sources", "deleted")


def _set_enabled(request: Request, name: str, enabled: bool) -> Response:
    settings = settings_of(request)
    with session_scope(settings) as session:
        source = _source(session, settings, name)
        if source is None:
            return _missing(request)
        set_source_enabled(session, source, enabled, actor=admin_of(request).actor)
    return done("/admin/sources", "enabled" if enabled else "disabled")


@router.post("/{name}/enable")
def enable(request: Request, name: str) -> Response:
    return _set_enabled(request, name, True)


@router.post("/{name}/disable")
def disable(request: Request, name: str) -> Response:
    return _set_enabled(request, name, False)


@router.post("/{name}/ingest")
def ingest_now(request: Request, name: str) -> Response:
    settings = settings_of(request)
    with session_scope(settings) as session:
        source = _source(session, settings, name)
        if source is None:
            return _missing(request)
        note_ingest_now(session, source, actor=admin_of(request).actor)
    back = text(form_of(request), "back") == "detail"
    return done(f"/admin/sources/{name}" if back else "/admin/sources", "ingesting",
                background=BackgroundTask(poll_source, settings, name))
