"""What every public route shares: the per-app state, reading forms, CSRF and rate-limit
checks, and the one error type a route raises to answer with a page and a status code."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.lifecycle import LinkError, Mail, subscriber_for
from service.subscribers.tokens import Purpose, TokenData
from service.web.public.content import CorpusCache, HomeCache, WindowCache
from service.web.ratelimit import (
    KeyedLimiter,
    Limit,
    WebLimits,
    client_ip,
    enforce,
    keyed_limiter,
)
from service.web.security import CSRF_FIELD, Csrf
from service.web.templating import CachedPage

# The largest form a public page sends is a few kB; anything bigger is not from our pages.
MAX_FORM_BYTES = 64 * 1024


@dataclass
class Public:
    """Built once per app by ``install``; routes reach it as ``request.app.state.public``."""

    settings: Settings
    limiter: KeyedLimiter
    limits: WebLimits
    dispatch: Callable[[Mail], None]
    home: HomeCache = field(default_factory=HomeCache)
    window: WindowCache = field(default_factory=WindowCache)
    corpus: CorpusCache = field(default_factory=CorpusCache)
    home_page: CachedPage = field(default_factory=CachedPage)
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings, dispatch: Callable[[Mail], None]) -> Public:
        return cls(settings, keyed_limiter(settings), WebLimits.from_settings(settings), dispatch)


@contextmanager
def writing(state: Public) -> Iterator[Session]:
    """A write transaction. SQLite has one writer at a time: this process's writers queue on a
    lock here rather than in SQLite's sleep-and-retry busy handler, whose back-off collapses
    throughput under load (measured: 50 sign-ups/s stalled for a minute without it)."""
    sqlite = state.settings.effective_database_url.startswith("sqlite")
    with state.write_lock if sqlite else nullcontext(), session_scope(state.settings) as session:
        yield session


class PageError(Exception):
    """Answer with ``public/message.html``: a title, a sentence, a status code, maybe more."""

    def __init__(self, status: int, title: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.extra = extra


def link_not_valid(exc: Exception) -> PageError:
    """404 for a forged, tampered or revoked link, with the way to a fresh one."""
    sentence = str(exc)
    return PageError(404, "Link not valid", sentence[:1].upper() + sentence[1:] + ".", show_new_link=True)


def linked_subscriber(session: Session, settings: Settings, purpose: Purpose, token: str) -> tuple[Subscriber, TokenData]:
    """The subscriber a page's link is for, or that 404 (``subscriber_for`` for pages)."""
    try:
        return subscriber_for(session, settings, purpose, token)
    except LinkError as exc:
        raise link_not_valid(exc) from None


async def hand_over(request: Request, mail: Mail | None) -> None:
    """Queue (or send) MAIL after its state was committed; off the event loop, as it does I/O."""
    if mail is not None:
        await run_in_threadpool(public(request).dispatch, mail)


def public(request: Request) -> Public:
    return request.app.state.public


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES, max_files: int = 0) -> FormData:
    """The urlencoded (or multipart) body; 413 when over MAX_BYTES, 415 when not a form. Only a
    form that takes a file (MAX_FILES) gets one, and a larger bound for it."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not kind and request.headers.get("content-length", "0") == "0":
        return FormData()  # an empty POST is an empty form (and fails its CSRF check)
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise PageError(415, "Not a form", "This address only accepts form submissions from our pages.")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        raise PageError(413, "Form too large", "That form was far larger than any of ours; nothing was saved.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PageError(413, "Form too large", "That form was far larger than any of ours; nothing was saved.")
    # Parsed from the bytes read, so the size bound also holds for a chunked body.
    request._body = body  # starlette's form() reads this cached body
    return await request.form(max_files=max_files, max_fields=200)


def check_csrf(request: Request, form: FormData, name: str) -> None:
    """Raise CsrfError (answered 403) unless FORM carries a valid token for form NAME."""
    csrf: Csrf = request.app.state.csrf
    value = form.get(CSRF_FIELD)
    csrf.verify(request, name, value if isinstance(value, str) else None)


def limit(request: Request, what: str, *checks: tuple[Limit, str]) -> None:
    """Count the request against each (limit, key); raises RateLimited (answered 429)."""
    enforce(public(request).limiter, list(checks), what)


def ip_key(request: Request) -> str:
    return f"ip:{client_ip(request)}"


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
