"""/admin/audit: the audit log — who did what to which object, with the row before and after;
filtered by actor, action, object and dates, newest first, keyset-paged."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.admin.audit_log import AuditQuery, audit_page, object_link, target_types
from service.storage.db import session_scope
from service.web.admin.auth import AdminRoute
from service.web.admin.forms import dates_of, int_param, start_of
from service.web.admin.responses import PAGE_SIZE, page
from service.web.admin.state import settings_of

router = APIRouter(prefix="/admin/audit", route_class=AdminRoute, include_in_schema=False)


@router.get("")
def audit_list(request: Request) -> Response:
    params = request.query_params
    dates, errors = dates_of(params, "since", "until")
    since, until = dates["since"], dates["until"]
    query = AuditQuery(
        actor=params.get("actor", "").strip()[:320], action=params.get("action", "").strip()[:64],
        target_type=params.get("type", "").strip()[:32], target_id=params.get("id", "").strip()[:64],
        since=start_of(since) if since and "since" not in errors else None,
        until=start_of(until) + timedelta(days=1) if until and not errors else None)
    with session_scope(settings_of(request)) as session:
        result = audit_page(session, query, before=int_param(params.get("before")), size=PAGE_SIZE)
        filters = {k: v for k, v in {"actor": query.actor, "action": query.action, "type": query.target_type,
                                     "id": query.target_id, "since": params.get("since", "").strip(),
                                     "until": params.get("until", "").strip()}.items() if v}
        context = {
            "page_title": "Audit log", "result": result, "filters": filters, "errors": errors,
            "types": target_types(session), "link": object_link,
            "next_params": {**filters, "before": result.next_before} if result.next_before else None,
            "first_params": filters if params.get("before") else None,
        }
        return page(request, "audit.html", context, section="audit", status_code=400 if errors else 200)
