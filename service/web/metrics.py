"""/metrics (Prometheus): this web process's HTTP requests and runtime, and the whole
installation's figures (digests, deliveries, bounces, papers, sources, the relay's breaker)
read from the database and the breaker's store at scrape time, so every worker's work shows
here without prometheus-client's multiprocess mode.

HTTP requests are labelled by the full route template ("/api/v1/subscribers/{subscriber_id}",
"/static/{path}"), never the raw path: tokens in URLs must not explode label cardinality.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings
from service.admin.metrics import families, read_figures, relay_family
from service.mail.breaker import relay_status
from service.storage import db

REQUESTS = Counter("papermail_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("papermail_http_request_seconds", "HTTP request latency", ["route"])
UNMATCHED = "unmatched"


class RouteTemplates:
    """The full path template of each route object, through included routers: FastAPI (since
    0.160) keeps an included router's routes nested, each knowing only its own part of the
    path ("/subscribers" under "/api/v1"). Read once, again when a route is new to it."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._paths: dict[int, str] = {}
        self._foreign: set[int] = set()

    def _read(self) -> None:
        iterate = getattr(fastapi.routing, "iter_route_contexts", None)
        if iterate is None:  # older FastAPI: every route in app.routes holds its whole path
            self._paths = {id(r): r.path_format for r in self._app.routes if hasattr(r, "path_format")}
            return
        self._paths = {id(c.original_route): c.path_format for c in iterate(self._app.routes)
                       if isinstance(c.path_format, str)}

    def path_of(self, route: Any) -> str | None:
        """None for a route not in the app's own table (one of a mounted app)."""
        key = id(route)
        if key not in self._paths and key not in self._foreign:
            self._read()
            if key not in self._paths:
                self._foreign.add(key)
        return self._paths.get(key)


def route_label(scope: Mapping[str, Any], root_path: str, templates: RouteTemplates) -> str:
    """The route template a finished request went to. A mount adds its path to root_path: static
    files leave no route in the scope ("<mount>/{path}"), a mounted app's route its own part."""
    mounted = str(scope.get("root_path", ""))
    prefix = mounted[len(root_path):] if mounted.startswith(root_path) else ""
    route = scope.get("route")
    if route is not None:
        return templates.path_of(route) or prefix + str(getattr(route, "path_format", UNMATCHED))
    if prefix and scope.get("endpoint") is not None:
        return prefix + "/{path}"
    return UNMATCHED


class InstallationCollector(Collector):
    """The database's figures and the relay breaker's state, read on each collect()."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        settings, now = self.settings, datetime.now(UTC)
        try:
            with db.session_scope(settings) as session:
                figures = read_figures(session, now, lease=timedelta(seconds=settings.delivery_lease_seconds),
                                       stale=timedelta(minutes=settings.delivery_stale_minutes),
                                       source_stale=timedelta(hours=settings.source_stale_hours))
            yield from families(figures)
            up = 1.0
        except (SQLAlchemyError, OSError):  # database down or schema not there yet: the rest still answers
            up = 0.0
        if settings.mail_backend == "smtp":  # the only backend with a relay to break
            yield relay_family(relay_status(settings))
        yield GaugeMetricFamily("papermail_metrics_database_up",
                                "1 when this scrape could read the figures from the database", value=up)
        yield GaugeMetricFamily("papermail_metrics_collect_seconds", "Time this scrape took to read the figures",
                                value=time.perf_counter() - started)


def exposition(registry: CollectorRegistry) -> bytes:
    """The process's own metrics (HTTP, runtime) and the installation's, as one text page."""
    return generate_latest(REGISTRY) + generate_latest(registry)


def install(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    # The installation's figures per app: the default registry is one per process, and tests
    # (or an embedding server) may build several apps.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(InstallationCollector(settings))
    app.state.metrics_registry = registry
    templates = RouteTemplates(app)

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        root_path = str(request.scope.get("root_path", ""))
        response = await call_next(request)
        route = route_label(request.scope, root_path, templates)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        # The figures come from the database: off the event loop.
        return Response(await run_in_threadpool(exposition, registry), media_type=CONTENT_TYPE_LATEST)
