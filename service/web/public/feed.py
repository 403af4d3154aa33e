"""/feed/{token}: a personal Atom feed (RFC 4287) of the papers the subscriber's preferences
match in the lookback window — the digest for feed readers, live.

Each entry links to the paper's page on this site (its source's page is a related link).
Built with ElementTree, so every title, author and abstract from a source is escaped as XML
text; characters XML 1.0 cannot carry are dropped first; links are http(s) only.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from config.settings import Settings
from service.storage.db import session_scope
from service.matching.match import match_many
from service.matching.records import MatchRequest
from service.storage.models import Paper, Subscriber
from service.digests.compose import page_url
from service.rendering.context import safe_url
from service.rendering.digest import reason_text
from service.subscribers.store import preferences_of
from service.web.public.content import Window
from service.web.public.context import PageError, linked_subscriber, public

router = APIRouter()
ATOM = "http://www.w3.org/2005/Atom"
FEED_MAX_PAPERS = 50
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


def entry_id(settings: Settings, paper: Paper) -> str:
    """The entry's permanent id: the row id, which never changes (an arXiv id may arrive later).
    It is a URL that resolves too: /papers/<row id> redirects to the paper's page."""
    return f"{settings.base_url}/papers/{paper.id}"


def atom_feed(settings: Settings, feed_url: str, subscriber: Subscriber, papers: list[tuple[Paper, str]],
              now: datetime) -> bytes:
    """The feed document; PAPERS are (paper, why it matched), best first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "title", "papermail: your matched papers")
    _sub(feed, "subtitle", "New AI papers matching your topics, keywords and authors.")
    _sub(feed, "id", feed_url.rsplit("/", 1)[0] + f"/subscriber-{subscriber.id}")
    _sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=settings.base_url + "/")
    newest = max((p.updated_at for p, _ in papers), default=now)
    _sub(feed, "updated", _iso(newest))
    author = _sub(feed, "author")
    _sub(author, "name", "papermail")
    _sub(feed, "generator", "papermail")
    for paper, why in papers:
        entry = _sub(feed, "entry")
        _sub(entry, "title", paper.title)
        _sub(entry, "id", entry_id(settings, paper))
        _sub(entry, "link", rel="alternate", type="text/html", href=page_url(settings, paper))
        url = safe_url(paper.hf_url or paper.abs_url)
        if url:
            _sub(entry, "link", rel="related", type="text/html", href=url)
        pdf = safe_url(paper.pdf_url)
        if pdf:
            _sub(entry, "link", rel="related", type="application/pdf", href=pdf, title="PDF")
        _sub(entry, "updated", _iso(paper.updated_at))
        if paper.published_at:
            _sub(entry, "published", _iso(paper.published_at))
        for name in paper.authors[:20] or ["Unknown"]:
            _sub(_sub(entry, "author"), "name", name)
        for topic in paper.topics:
            _sub(entry, "category", term=topic.slug, label=xml_text(topic.name))
        summary = paper.abstract + (f"\n\nWhy: {why}" if why else "")
        _sub(entry, "summary", summary, type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _matched(window: Window, subscriber: Subscriber, now: datetime, lookback: timedelta) -> list[tuple[Paper, str]]:
    prefs = preferences_of(subscriber).model_copy(update={"max_papers": FEED_MAX_PAPERS})
    [matches] = match_many([MatchRequest(prefs, now - lookback)], window.index)
    names = window.topic_names
    picked = []
    for m in matches:
        r = m.reasons
        why = reason_text(list(dict.fromkeys(h.term for h in r.terms)), [names.get(t, t) for t in r.topics],
                          list(r.authors), r.trending)
        picked.append((window.papers[m.paper_id], why))
    return picked


@router.get("/feed/{token}")
async def feed(request: Request, token: str) -> Response:
    state = public(request)
    settings = state.settings

    def run() -> bytes:
        with session_scope(settings) as session:
            subscriber, _ = linked_subscriber(session, settings, "feed", token)
        if subscriber.status not in ("active", "paused"):
            raise PageError(404, "Feed not available", "This subscription has ended, so its feed has too.")
        now = datetime.now(UTC)
        window = state.window.window(settings, now)
        papers = _matched(window, subscriber, window.built_at, timedelta(days=settings.lookback_days))
        return atom_feed(settings, f"{settings.base_url}/feed/{token}", subscriber, papers, now)

    body = await run_in_threadpool(run)
    return Response(body, media_type="application/atom+xml; charset=utf-8",
                    headers={"cache-control": "private, max-age=300"})
