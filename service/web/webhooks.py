"""POST /webhooks/bounce: bounce and complaint notifications from the mail provider.

Authenticated by a shared secret (Settings ``bounce_webhook_secret``; empty = webhook off),
given as the ``X-Papermail-Webhook-Secret`` header, a ``secret`` query parameter, or the
password of HTTP Basic auth (SNS and Postmark can only be given a URL, which may carry either).
401 without a secret, 403 with a wrong one or when the webhook is off, 400 for a body in no
known format, 413 past 1 MB; every error in the API's one JSON shape.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from config.settings import Settings
from service.actions.bounces import apply_events
from service.subscribers.bounces import BounceFormatError, ParsedNotification, parse_notification
from service.storage.db import session_scope
from service.web.api.errors import ApiError, JsonErrorRoute, responses

MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "x-papermail-webhook-secret"

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=JsonErrorRoute)


class EventOut(BaseModel):
    address: str
    kind: Literal["hard", "soft", "complaint"]
    outcome: Literal["suppressed", "counted", "already_suppressed", "unknown_address", "invalid_address"]


class WebhookOut(BaseModel):
    format: str
    events: list[EventOut]
    notice: str | None = None


def given_secret(request: Request) -> str | None:
    if value := request.headers.get(SECRET_HEADER):
        return value
    if value := request.query_params.get("secret"):
        return value
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")[2] or None
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def check_secret(settings: Settings, given: str | None) -> None:
    expected = settings.bounce_webhook_secret
    if not expected:
        raise ApiError(403, "the bounce webhook is off: set PAPERMAIL_BOUNCE_WEBHOOK_SECRET", code="webhook_disabled")
    if given is None:
        raise ApiError(401, "the webhook secret is missing (X-Papermail-Webhook-Secret header or ?secret=)")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8")):
        raise ApiError(403, "wrong webhook secret")


def record(settings: Settings, parsed: ParsedNotification) -> WebhookOut:
    soft_limit = settings.soft_bounce_limit
    with session_scope(settings) as session:
        results = apply_events(session, parsed.events, datetime.now(UTC), soft_limit)
    return WebhookOut(format=parsed.format, notice=parsed.notice,
                      events=[EventOut(address=r.address, kind=r.kind, outcome=r.outcome) for r in results])


BODY_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "description": "Generic {address, type: hard|soft|complaint, reason} (or a list, or {events: [...]}), "
                   "an SNS message carrying an SES notification, or a Postmark bounce/spam-complaint webhook.",
    "type": "object"}}}}}


@router.post("/bounce", response_model=WebhookOut, responses=responses(400, 401, 403, 413), openapi_extra=BODY_DOC,
             summary="Bounce and complaint notifications (generic, Amazon SES via SNS, Postmark)")
async def bounce(request: Request) -> WebhookOut:
    settings: Settings = request.app.state.settings
    check_secret(settings, given_secret(request))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        parsed = parse_notification(bytes(body))
    except BounceFormatError as exc:
        raise ApiError(400, str(exc), code="malformed", field="body") from None
    return await run_in_threadpool(record, settings, parsed)


def install(app: FastAPI) -> None:
    app.include_router(router)
