"""/api/v1/audit: the audit log, read-only, with the filters of /admin/audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from config.settings import Settings
from service.admin.audit_log import AuditQuery, audit_page
from service.storage.db import session_scope
from service.web.api.auth import ApiRoute, app_settings
from service.web.api.common import Limit, Offset, as_utc
from service.web.api.errors import ApiError
from service.web.api.schemas import AuditEntryOut, Page, SafeStr

router = APIRouter(prefix="/audit", tags=["audit"], route_class=ApiRoute)


@router.get("", response_model=Page[AuditEntryOut], summary="The audit log, newest first")
def list_audit(
    settings: Annotated[Settings, Depends(app_settings)],
    limit: Limit = 50,
    offset: Offset = 0,
    actor: Annotated[SafeStr | None, Query(max_length=320, description="Part of who did it.")] = None,
    action: Annotated[SafeStr | None, Query(max_length=64, description='How the action begins, e.g. "subscriber.".')] = None,
    target_type: Annotated[SafeStr | None, Query(max_length=32, description='e.g. "subscriber", "topic".')] = None,
    target_id: Annotated[SafeStr | None, Query(max_length=64, description="The object's id, exactly.")] = None,
    since: Annotated[datetime | None, Query(description="At or after (UTC if no offset).")] = None,
    until: Annotated[datetime | None, Query(description="Before (UTC if no offset).")] = None,
) -> Page[AuditEntryOut]:
    start, end = as_utc(since), as_utc(until)
    if start and end and start > end:
        raise ApiError(422, "until: is before since", field="query.until")
    query = AuditQuery(actor=(actor or "").strip(), action=(action or "").strip(),
                       target_type=(target_type or "").strip(), target_id=(target_id or "").strip(),
                       since=start, until=end)
    with session_scope(settings) as session:
        result = audit_page(session, query, size=limit, offset=offset)
        return Page[AuditEntryOut](items=[AuditEntryOut.model_validate(e) for e in result.rows], total=result.total,
                                   limit=limit, offset=offset)
