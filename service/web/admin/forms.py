"""Reading what an admin sent: the POSTed form (read once by AdminRoute), its fields, and query
parameters, each cut to size and never trusted."""

from __future__ import annotations

from datetime import date
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


def back_to(raw: str, prefix: str) -> str:
    """RAW if it is a page under PREFIX on this site (its old notice dropped), else PREFIX."""
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith(prefix) or "//" in parts.path:
        return prefix
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "done"])
    return parts.path + (f"?{query}" if query else "")
