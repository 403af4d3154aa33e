"""/admin/topics: the taxonomy — create, edit, rename, delete topics with their keywords and
arXiv categories. A change is checked by building the whole new taxonomy first (a topic that
cannot match anything is refused before it is stored); papers are re-classified in the
background. Deleting a topic that subscribers follow first asks what becomes of them (removed
from their preferences, or merged into another topic): the page says how many they are."""

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
from service.actions.topics import TopicError, TopicInUse, add_topic, delete_topic, rename_topic, update_topic
from service.storage.db import session_scope
from service.storage.models import Topic
from service.topics.followers import follower_count
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
           "deleted": "Topic deleted; papers are being re-classified.",
           "removed": "Topic deleted and removed from {moved} subscribers' preferences; papers are being re-classified.",
           "merged": "Topic merged: its {moved} subscribers follow the other topic now; papers are being re-classified.",
           "renamed": "Renamed; its {moved} subscribers follow it under the new slug."}


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
    if error.problem == "into":
        return "Choose the topic to merge it into."
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
    topics = all_topics(session)
    context = {"page_title": "Topics", "topics": topics, "counts": counts, "values": values,
               "followers": {t.slug: follower_count(session, t.slug) for t in topics},
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


def edit_page(request: Request, session: Session, topic: Topic, values: dict[str, str], error: str = "",
              status: int = 200) -> Response:
    context = {"page_title": topic.name, "topic": topic, "values": values, "error": error,
               "papers": papers_per_topic(session).get(topic.slug, 0),
               "followers": follower_count(session, topic.slug), "notice": None if error else notice(request, NOTICES)}
    return page(request, "topics/edit.html", context, section="topics", status_code=status)


def _missing(request: Request) -> Response:
    return message(request, 404, "No such topic", "That topic does not exist (any more).")


@router.get("/{slug}")
def edit_form(request: Request, slug: str) -> Response:
    with session_scope(settings_of(request)) as session:
        all_topics(session)
        topic = _topic(session, slug)
        if topic is None:
            return _missing(request)
        return edit_page(request, session, topic, values_of(topic))


@router.post("/{slug}")
def edit(request: Request, slug: str) -> Response:
    form = form_of(request)
    settings = settings_of(request)
    new_slug = text(form, "slug", 64).lower() or slug
    actor = admin_of(request).actor
    with session_scope(settings) as session:
        all_topics(session)
        topic = _topic(session, slug)
        if topic is None:
            return _missing(request)
        try:
            update_topic(session, topic, form_fields(form), actor=actor)
            moved = rename_topic(session, topic, new_slug, actor=actor)
        except TopicError as exc:
            session.rollback()
            values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
            topic = _topic(session, slug)
            assert topic is not None
            return edit_page(request, session, topic, values, wording(exc, new_slug), 400)
    if new_slug != slug:
        return done(f"/admin/topics/{new_slug}", "renamed", background=BackgroundTask(reclassify, settings),
                    moved=moved)
    return done(f"/admin/topics/{slug}", "saved", background=BackgroundTask(reclassify, settings))


def confirm_page(request: Request, session: Session, topic: Topic, count: int, error: str = "",
                 status: int = 409) -> Response:
    """What becomes of the COUNT subscribers who follow TOPIC? (409: nothing was deleted yet.)"""
    others = [t for t in all_topics(session) if t.id != topic.id]
    context = {"page_title": f"Delete {topic.name}?", "topic": topic, "followers": count, "others": others,
               "error": error}
    return page(request, "topics/delete.html", context, section="topics", status_code=status)


@router.get("/{slug}/delete")
def delete_form(request: Request, slug: str) -> Response:
    with session_scope(settings_of(request)) as session:
        all_topics(session)
        topic = _topic(session, slug)
        if topic is None:
            return _missing(request)
        return confirm_page(request, session, topic, follower_count(session, slug), status=200)


@router.post("/{slug}/delete")
def delete(request: Request, slug: str) -> Response:
    form = form_of(request)
    then = text(form, "then")
    settings = settings_of(request)
    with session_scope(settings) as session:
        all_topics(session)
        topic = _topic(session, slug)
        if topic is None:
            return _missing(request)
        into = _topic(session, text(form, "into", 64)) if then == "merge" else None
        try:
            moved = delete_topic(session, topic, actor=admin_of(request).actor,
                                 then=then if then in ("remove", "merge") else None, into=into)  # type: ignore[arg-type]
        except TopicInUse as exc:
            return confirm_page(request, session, topic, exc.followers)
        except TopicError as exc:
            if exc.problem == "last":
                return message(request, 409, "Not deleted", "The last topic cannot be deleted.")
            return confirm_page(request, session, topic, follower_count(session, slug), wording(exc, slug), 400)
    key = {"remove": "removed", "merge": "merged"}.get(then, "deleted") if moved else "deleted"
    return done("/admin/topics", key, background=BackgroundTask(reclassify, settings), moved=moved)
