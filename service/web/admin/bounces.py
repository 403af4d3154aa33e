"""/admin/bounces: every bounce and complaint papermail heard of — kind, address, when, the raw
diagnostic and where it came from (the SMTP session of a digest, a provider's webhook, inbound
mail) — filtered, newest first, keyset-paged."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.admin.bounce_log import KINDS, SOURCES, BounceQuery, bounce_page
from service.storage.db import session_scope
from service.web.admin.auth import AdminRoute
from service.web.admin.forms import dates_of, int_param, start_of
from service.web.admin.responses import PAGE_SIZE, page
from service.web.admin.state import settings_of

router = APIRouter(prefix="/admin/bounces", route_class=AdminRoute, include_in_schema=False)
SOURCE_LABELS = {"smtp": "SMTP session (digest refused)", "webhook": "provider webhook", "inbound": "inbound mail"}


@router.get("")
def bounce_list(request: Request) -> Response:
    params = request.query_params
    dates, errors = dates_of(params, "since", "until")
    since, until = dates["since"], dates["until"]
    query = BounceQuery(
        kind=params.get("kind", "") if params.get("kind") in KINDS else "",
        source=params.get("source", "") if params.get("source") in SOURCES else "",
        address=params.get("address", "").strip()[:320],
        since=start_of(since) if since and "since" not in errors else None,
        until=start_of(until) + timedelta(days=1) if until and not errors else None)
    with session_scope(settings_of(request)) as session:
        result = bounce_page(session, query, before=int_param(params.get("before")), size=PAGE_SIZE)
        filters = {k: v for k, v in {"kind": query.kind, "source": query.source, "address": query.address,
                                     "since": params.get("since", "").strip(),
                                     "until": params.get("until", "").strip()}.items() if v}
        context = {"page_title": "Bounces and complaints", "result": result, "filters": filters, "errors": errors,
                   "kinds": KINDS, "sources": SOURCE_LABELS,
                   "next_params": {**filters, "before": result.next_before} if result.next_before else None,
                   "first_params": filters if params.get("before") else None}
        return page(request, "bounces.html", context, section="bounces", status_code=400 if errors else 200)
