"""/api/v1/bounces: the bounce and complaint log, read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from config.settings import Settings
from service.admin.bounce_log import BounceQuery, bounce_page
from service.storage.db import session_scope
from service.web.api.auth import ApiRoute, app_settings, needs
from service.web.api.common import MAX_ID, Limit, Offset, as_utc
from service.web.api.schemas import BounceKind, BounceOut, BounceSource, Page, SafeStr

router = APIRouter(prefix="/bounces", tags=["bounces"], route_class=ApiRoute)


@router.get("", response_model=Page[BounceOut], summary="Every bounce and complaint, newest first")
@needs("export")  # a list of addresses
def list_bounces(
    settings: Annotated[Settings, Depends(app_settings)],
    limit: Limit = 50,
    offset: Offset = 0,
    kind: BounceKind | None = None,
    source: BounceSource | None = None,
    address: Annotated[SafeStr | None, Query(max_length=320, description="Part of the address.")] = None,
    subscriber_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: Annotated[datetime | None, Query(description="At or after (UTC if no offset).")] = None,
    until: Annotated[datetime | None, Query(description="Before (UTC if no offset).")] = None,
) -> Page[BounceOut]:
    query = BounceQuery(kind=kind or "", source=source or "", address=(address or "").strip(),
                        subscriber_id=subscriber_id, since=as_utc(since), until=as_utc(until))
    with session_scope(settings) as session:
        result = bounce_page(session, query, size=limit, offset=offset)
        return Page[BounceOut](items=[BounceOut.model_validate(b) for b in result.rows], total=result.total,
                               limit=limit, offset=offset)
