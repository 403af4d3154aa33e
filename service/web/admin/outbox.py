"""/admin/outbox: the embedded mail backend's .eml files — list, read, download.

The HTML part is served on its own URL with a CSP that allows its inline styles and nothing
else (no script, no network but images over https), framed sandboxed from the message page.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.mail import list_outbox, open_outbox_entry
from service.mail.outbox import OutboxEntry
from service.web.admin.auth import AdminRoute, requires
from service.web.admin.responses import message, page
from service.web.admin.state import settings_of

router = APIRouter(prefix="/admin/outbox", route_class=AdminRoute, include_in_schema=False)
SHOWN = 200
HEADERS = ("Date", "From", "To", "Subject", "Message-ID", "List-Unsubscribe", "DKIM-Signature")
FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'"


def outbox_name_for(directory: Path, message_id: str | None) -> str | None:
    """The outbox file of the message with MESSAGE_ID, if it is there: its name ends with a hash
    of the Message-ID (service.mail.outbox.outbox_file_name)."""
    if not message_id or not directory.is_dir():
        return None
    bare = message_id.strip().strip("<>")
    for key in dict.fromkeys((message_id, f"<{bare}>", bare)):
        digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:12]
        found = sorted(directory.glob(f"*Z-{digest}.eml"))
        if found:
            return found[-1].name
    return None


def summary(entry: OutboxEntry) -> dict[str, Any]:
    headers = entry.message()
    return {"name": entry.name, "to": str(headers.get("To", "")), "subject": str(headers.get("Subject", "")),
            "date": str(headers.get("Date", "")), "size": entry.size}


def part(message_: EmailMessage, kind: str) -> str:
    body = message_.get_body((kind,))
    return body.get_content() if body is not None else ""


def _open(request: Request, name: str) -> OutboxEntry | None:
    try:
        return open_outbox_entry(settings_of(request).outbox_dir, name)
    except FileNotFoundError:
        return None


def _missing(request: Request) -> Response:
    return message(request, 404, "No such message", "That message is not in the outbox (any more).")


@router.get("")
def outbox_list(request: Request) -> Response:
    settings = settings_of(request)
    entries = list_outbox(settings.outbox_dir, newest_first=True, limit=SHOWN)
    context = {"page_title": "Outbox", "messages": [summary(e) for e in entries], "backend": settings.mail_backend,
               "directory": settings.outbox_dir, "shown": SHOWN}
    return page(request, "outbox/list.html", context, section="outbox")


@router.get("/{name}")
def outbox_message(request: Request, name: str) -> Response:
    entry = _open(request, name)
    if entry is None:
        return _missing(request)
    parsed = entry.message()
    headers = [(h, str(parsed.get(h))) for h in HEADERS if parsed.get(h) is not None]
    context = {"page_title": str(parsed.get("Subject", name)), "name": name, "headers": headers,
               "text": part(parsed, "plain"), "has_html": bool(part(parsed, "html"))}
    return page(request, "outbox/message.html", context, section="outbox")


@router.get("/{name}/html")
def outbox_html(request: Request, name: str) -> Response:
    entry = _open(request, name)
    if entry is None:
        return _missing(request)
    return HTMLResponse(part(entry.message(), "html"), headers={
        "content-security-policy": FRAME_CSP, "x-frame-options": "SAMEORIGIN", "cache-control": "no-store"})


@router.get("/{name}/raw")
@requires("export")  # the message file itself, address and all
def outbox_raw(request: Request, name: str) -> Response:
    entry = _open(request, name)
    if entry is None:
        return _missing(request)
    return Response(entry.read_bytes(), media_type="message/rfc822",
                    headers={"content-disposition": f'attachment; filename="{entry.name}"', "cache-control": "no-store"})
