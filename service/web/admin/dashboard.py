"""/admin: the dashboard — status totals and the SVG charts of service.admin.dashboard."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from service.admin.dashboard import bar_list, dashboard_numbers, line_chart, stacked_bars
from service.ingest.poll import sync_sources
from service.storage.db import session_scope
from service.web.admin.auth import AdminRoute
from service.web.admin.responses import page
from service.web.admin.state import now, settings_of, state

router = APIRouter(prefix="/admin", route_class=AdminRoute, include_in_schema=False)
# The topic/keyword counts read every active subscriber's preferences: at 100,000 that is
# about half a second, so the numbers are kept this long per process.
CACHE_SECONDS = 60.0


@router.get("")
def dashboard(request: Request) -> Response:
    cache = state(request).cache
    cached = cache.get("dashboard")
    fresh = request.query_params.get("refresh") == "1"
    if cached is None or fresh or time.monotonic() - cached[0] > CACHE_SECONDS:
        with session_scope(settings_of(request)) as session:
            sync_sources(session, settings_of(request))  # configured sources count before their first visit
            stale = timedelta(hours=settings_of(request).source_stale_hours)
            cached = cache["dashboard"] = (time.monotonic(), dashboard_numbers(session, now().date(), stale_after=stale))
    numbers = cached[1]
    charts = {
        "subscribers": line_chart("Subscribers by status, last 30 days", numbers.days, numbers.status_series),
        "digests": stacked_bars("Digests sent, failed and skipped per day", numbers.days,
                                {"sent": numbers.sent_per_day, "failed": numbers.failed_per_day,
                                 "skipped": numbers.skipped_per_day}),
        "topics": bar_list("Most chosen topics", numbers.topics),
        "keywords": bar_list("Most chosen keywords", numbers.keywords),
    }
    context = {"page_title": "Dashboard", "numbers": numbers,
               "charts": {name: Markup(svg) for name, svg in charts.items()},
               "failed_30": sum(numbers.failed_per_day), "sent_30": sum(numbers.sent_per_day),
               "skipped_30": sum(numbers.skipped_per_day)}
    return page(request, "dashboard.html", context, section="dashboard")
