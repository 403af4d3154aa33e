"""/admin/topics: the taxonomy — create, edit, delete topics with their keywords and arXiv
categories. A change is checked by building the whole new taxonomy first (a topic that cannot
match anything is refused before it is stored); papers are re-classified in the background."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from config.settings import Settings
from service.actions.topics import TopicError, add_topic, delete_topic, update_topic
from service.storage.db import session_scope
from service.storage.models import Topic
from service.topics.store import (
    current_taxonomy,
    papers_per_topic,
    reclassify_stale,
    topic_row,
)
from service.web.admin.auth import AdminRoute
from service.web.admin.forms import form_of, text
from service.web.admin.responses import done, message, notice, page
from service.web.admin.state import admin_of, settings_of

router = APIRouter(prefix="/admin/topics", route_class=AdminRoute, include_in_schema=False)
LIST_FIELDS = ("keywords", "categories", "title_keywords", "strong_categories", "exclude")
NOTICES = {"created": "Topic created; papers are being re-classified.", "saved": "Saved; papers are being re-classified.",
           "deleted": "Topic deleted; papers are being re-classified."}


def reclassify(settings: Settings) -> None:
    """Bring every paper's topics up to the taxonomy as it now stands (runs after the response)."""
    with session_scope(settings) as session:
        reclassify_stale(session, current_taxonomy(session))


def split_list(raw: str) -> list[str]:
    """Comma- or newline-separated values, trimmed, repeats dropped."""
    return list(dict.fromkeys(v.strip() for v in re.split(r"[,\n]", raw) if v.strip()))


def form_fields(form: FormData) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": text(form, "name", 128), "description": text(form, "description", 2000)}
    fields.update({name: split_list(text(form, name)) for name in LIST_FIELDS})
    return fields


def wording(error: TopicError, slug: str) -> str:
    """The page's words for a refused change."""
    if error.problem == "slug":
        return "The slug is lowercase words joined by '-', e.g. 'speech-audio'."
    if error.problem == "exists":
        return f"A topic '{slug}' exists already."
    if error.problem == "name":
        return "Give the topic a name."
    return str(error)


def all_topics(session: Session) -> list[Topic]:
    current_taxonomy(session)  # seeds the shipped taxonomy on first use
    return list(session.scalars(select(Topic).order_by(Topic.position, Topic.id)))


def values_of(topic: Topic) -> dict[str, str]:
    row = topic_row(topic)
    return {"slug": topic.slug, "name": topic.name, "description": topic.description,
            **{name: ", ".join(row.get(name, [])) for name in LIST_FIELDS}}


def listing(request: Request, session: Session, values: dict[str, str], error: str, status: int = 200) -> Response:
    counts = papers_per_topic(session)
    context = {"page_title": "Topics", "topics": all_topics(session), "counts": counts, "values": values,
               "error": error, "notice": notice(request, NOTICES)}
    return page(request, "topics/list.html", context, section="topics", status_code=status)


@router.get("")
def topic_list(request: Request) -> Response:
    with session_scope(settings_of(request)) as session:
        return listing(request, session, {}, "")


@router.post("")
def create(request: Request) -> Response:
    form = form_of(request)
    slug, fields = text(form, "slug", 64).lower(), form_fields(form)
    settings = settings_of(request)
    with session_scope(settings) as session:
        all_topics(session)  # seeds the shipped taxonomy on first use
        try:
            add_topic(session, slug, fields, actor=admin_of(request).actor)
        except TopicError as exc:
            values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
            return listing(request, session, values, wording(exc, slug), 400)
    return done("/admin/topics", "created", background=BackgroundTask(reclassify, settings))


def _topic(session: Session, slug: str) -> Topic | None:
    return session.scalars(select(Topic).where(Topic.slug == slug)).one_or_none()


@router.get("/{slug}")
def edit_form(request: Request, slug: str) -> Response:
    with session_scope(settings_of(request)) as session:
        all_topics(session)
        topic = _topic(session, slug)
        if topic is None:
            return message(request, 404, "No such topic", "That topic does not exist (any more).")
        return page(request, "topics/edit.html", {"page_title": topic.name, "topic": topic, "values": values_of(topic),
                                                   "error": "", "papers": papers_per_topic(session).get(slug, 0)},
                    section="topics")


@router.post("/{slug}")
def edit(request: Request, slug: str) -> Response:
    form = form_of(request)
    settings = settings_of(request)
    with session_scope(settings) as session:
        all_topics(session)
        topic = _topic(session, slug)
        if topic is None:
            return message(request, 404, "No such topic", "That topic does not exist (any more).")
        try:
            update_topic(session, topic, form_fields(form), actor=admin_of(request).actor)
        except TopicError as exc:
            values = {k: str(v) for k, v in form.items() if isinstance(v, str)} | {"slug": slug}
            return page(request, "topics/edit.html", {"page_title": slug, "topic": topic, "values": values,
                                                       "error": wording(exc, slug), "papers": 0},
                        section="topics", status_code=400)
    return done(f"/admin/topics/{slug}", "saved", background=BackgroundTask(reclassify, settings))


@router.post("/{slug}/delete")
def delete(request: Request, slug: str) -> Response:
    settings = settings_of(request)
    with session_scope(settings) as session:
        all_topics(session)
        topic = _topic(session, slug)
        if topic is None:
            return message(request, 404, "No such topic", "That topic does not exist (any more).")
        try:
            delete_topic(session, topic, actor=admin_of(request).actor)
        except TopicError:
            return message(request, 409, "Not deleted", "The last topic cannot be deleted.")
    return done("/admin/topics", "deleted", background=BackgroundTask(reclassify, settings))
