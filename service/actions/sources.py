"""Paper sources: add, edit, enable or disable, ask for a poll now, delete — from the admin and
the API.

A stored source obeys the rules a configured one does (``config.settings.SourceConfig``: name,
kind, interval), and its URL is http(s) on a public address: a URL whose host is, or resolves
to, a private, loopback, link-local or otherwise non-global address (``http://169.254.169.254/``,
the cloud metadata service) is refused unless SOURCE_ALLOW_PRIVATE_URLS is set, so the admin
and the API cannot be used to make papermail fetch from inside its own network. A host that
does not resolve now is accepted: its polls will fail, visibly, on the sources page.

The caller brings the configured sources into the table first (``service.ingest.poll.sync_sources``),
so a name clash is seen. A configured source cannot be deleted (it would come back at the next
sync): it is disabled, or removed from the settings. Deleting a source keeps its papers.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import SourceConfig
from service.admin import audit
from service.storage.models import Source

EDITABLE = ("kind", "url", "poll_interval_minutes", "enabled")
KIND_NAMES = ("hf_daily", "arxiv_rss", "arxiv_api", "feed")
# What each field's rule is, in words (pydantic's own messages quote regular expressions).
RULES = {
    "name": "use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
    "kind": f"choose one of {', '.join(KIND_NAMES)}",
    "url": "give the feed's full address, starting with http:// or https://",
    "poll_interval_minutes": "a whole number of minutes, from 1 to 10080 (a week)",
    "enabled": "yes or no",
}
Resolver = Callable[[str, int], list[str]]


class InvalidSource(ValueError):
    """Every problem of a source, ``{field: words}``; ``field`` is the first (for an API's error)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        self.field = next(iter(self.problems))
        super().__init__("; ".join(f"{name}: {text}" for name, text in self.problems.items()))


class SourceExists(ValueError):
    pass


class SourceConfigured(ValueError):
    """The source comes from the settings (PAPERMAIL_SOURCES): deleting it here would not last."""


def resolve_host(host: str, port: int) -> list[str]:
    """Every address HOST resolves to; none when it does not resolve (now)."""
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
    except (OSError, UnicodeError):
        return []


def non_public(addresses: Collection[str]) -> str | None:
    """Pure: the first of ADDRESSES that is not a global unicast address, if any."""
    for raw in addresses:
        try:
            ip = ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError:
            continue
        mapped = getattr(ip, "ipv4_mapped", None)
        if not (mapped or ip).is_global or ip.is_multicast:
            return raw
    return None


def url_problem(url: str, *, allow_private: bool, resolve: Resolver | None = None) -> str | None:
    """What is wrong with URL as a source's address, in words; None when nothing is."""
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid address ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    host = parts.hostname
    if not host:
        return "has no host name (e.g. https://example.org/feed.xml)"
    if allow_private:
        return None
    try:
        literal: list[str] | None = [str(ipaddress.ip_address(host))]
    except ValueError:
        literal = None
    lookup = resolve or resolve_host  # looked up at call time: tests replace it (no DNS in tests)
    addresses = literal if literal is not None else lookup(host, port or (443 if parts.scheme == "https" else 80))
    blocked = non_public(addresses)
    if blocked is not None:
        where = host if blocked == host else f"{host} ({blocked})"
        return (f"points to {where}, a private, loopback or link-local address; papermail only fetches from public "
                "addresses unless PAPERMAIL_SOURCE_ALLOW_PRIVATE_URLS is set")
    return None


def check_source(values: Mapping[str, Any], *, allow_private: bool = False, resolve: Resolver | None = None) -> None:
    """Raise InvalidSource with every problem of VALUES (name and EDITABLE), each in words."""
    problems: dict[str, str] = {}
    try:
        SourceConfig(**values)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "source"
            problems.setdefault(field, RULES.get(field, str(error["msg"])))
    if "url" not in problems:
        problem = url_problem(str(values.get("url", "")), allow_private=allow_private, resolve=resolve)
        if problem:
            problems["url"] = problem
    if problems:
        order = [name for name in ("name", *EDITABLE) if name in problems] + [n for n in problems if n not in RULES]
        raise InvalidSource({name: problems[name] for name in order})


def editable_values(source: Source) -> dict[str, Any]:
    return {field: getattr(source, field) for field in EDITABLE}


def add_source(session: Session, values: Mapping[str, Any], *, actor: str, now: datetime,
               allow_private: bool = False, resolve: Resolver | None = None) -> Source:
    """A new source from VALUES (name and EDITABLE). Raises InvalidSource or SourceExists."""
    check_source(values, allow_private=allow_private, resolve=resolve)
    if session.scalars(select(Source.id).where(Source.name == values["name"])).first() is not None:
        raise SourceExists(f"a source {values['name']!r} exists already")
    source = Source(**values, created_at=now)
    session.add(source)
    session.flush()
    audit.record(session, actor, "source.create", "source", source.name, None, dict(values))
    return source


def _change(session: Session, source: Source, changes: Mapping[str, Any], actor: str, action: str) -> None:
    before = editable_values(source)
    for field, value in changes.items():
        setattr(source, field, value)
    if changes.get("enabled") or "poll_interval_minutes" in changes:
        source.next_poll_at = None  # due at beat's next tick, not after the old interval
    audit.record(session, actor, action, "source", source.name, *audit.changed(before, editable_values(source)))


def update_source(session: Session, source: Source, changes: Mapping[str, Any], *, actor: str,
                  allow_private: bool = False, resolve: Resolver | None = None) -> None:
    """Set CHANGES (a subset of EDITABLE). Raises InvalidSource, SOURCE untouched. A URL kept as
    it was is not checked again (a configured source may point anywhere its operator chose)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidSource({sorted(unknown)[0]: "is not a field of a source one can edit"})
    keeps_url = changes.get("url", source.url) == source.url
    check_source({"name": source.name, **editable_values(source), **changes},
                 allow_private=allow_private or keeps_url, resolve=resolve)
    _change(session, source, changes, actor, "source.update")


def set_source_enabled(session: Session, source: Source, enabled: bool, *, actor: str) -> None:
    """Poll SOURCE again (at the next tick), or stop polling it."""
    _change(session, source, {"enabled": enabled}, actor, "source.enable" if enabled else "source.disable")


def note_ingest_now(session: Session, source: Source, *, actor: str) -> None:
    """An operator asked for a poll of SOURCE now (the caller runs or enqueues it after the commit)."""
    audit.record(session, actor, "source.ingest_now", "source", source.name)


def delete_source(session: Session, source: Source, *, actor: str, configured: Collection[str]) -> None:
    """Forget SOURCE (its papers stay, with its name among their sources). Raises
    SourceConfigured for a source named in CONFIGURED (the settings' sources)."""
    if source.name in configured:
        raise SourceConfigured(f"{source.name!r} comes from the settings (PAPERMAIL_SOURCES): remove it there, "
                               "or disable it here")
    audit.record(session, actor, "source.delete", "source", source.name, {**editable_values(source),
                                                                          "name": source.name}, None)
    session.delete(source)
