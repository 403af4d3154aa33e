"""Reading what an admin sent: the POSTed form (read once by AdminRoute), its fields, and query
parameters, each cut to size and never trusted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Request
from starlette.datastructures import FormData


def form_of(request: Request) -> FormData:
    return getattr(request.state, "form", None) or FormData()


def text(form: FormData, name: str, limit: int = 6000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def int_param(raw: str | None, low: int = 1, high: int = 2**63 - 1) -> int | None:
    if raw is None or not raw.strip().isdigit():
        return None
    value = int(raw)
    return value if low <= value <= high else None


def date_param(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def dates_of(params: Mapping[str, str], *names: str) -> tuple[dict[str, date | None], dict[str, str]]:
    """The date query parameters NAMES (YYYY-MM-DD), and an error in words for each one that
    is not a date: a bad date is said, never silently ignored."""
    found: dict[str, date | None] = {}
    errors: dict[str, str] = {}
    for name in names:
        raw = params.get(name, "").strip()
        found[name] = date_param(raw)
        if raw and found[name] is None:
            errors[name] = f"“{raw[:40]}” is not a date: use YYYY-MM-DD, e.g. 2026-11-27."
    first, last = (found.get(n) for n in names[:2]) if len(names) >= 2 else (None, None)
    if first and last and first > last:
        errors[names[1]] = "The end date is before the start date."
    return found, errors


def start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def back_to(raw: str, prefix: str) -> str:
    """RAW if it is a page under PREFIX on this site (its old notice dropped), else PREFIX."""
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith(prefix) or "//" in parts.path:
        return prefix
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "done"])
    return parts.path + (f"?{query}" if query else "")
