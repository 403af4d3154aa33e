"""The authenticated JSON API under /api/v1 (and the bounce webhook beside it).

Every route is an ``ApiRoute``: Bearer token checked first, every error in one JSON shape.
``install(app)`` adds both, and a catch-all so unknown /api paths answer in that shape too.
"""

from __future__ import annotations

import fastapi.routing
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.routing import compile_path

from service.task_queue import TaskQueue
from service.web import webhooks
from service.web.api import deliveries, seeds, sources, stats, subscribers, topics
from service.web.api import audit, bounces, docs
from service.web.api import papers
from service.web.api.auth import ApiRoute, current_caller
from service.web.api.errors import error_response, responses

PREFIX = "/api/v1"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def api_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, route_class=ApiRoute, dependencies=[Depends(current_caller)],
                       responses=responses(400, 401, 403, 422))
    for module in (subscribers, seeds, topics, sources, deliveries, stats):
        router.include_router(module.router)
    for module in (audit, bounces):  # read-only logs
        router.include_router(module.router)
    router.include_router(papers.router)
    return router


def api_routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """(path, methods) of every /api/v1 route, through included routers (FastAPI keeps those
    nested in app.routes since 0.160; iter_route_contexts flattens them)."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(iterate(app.routes)) if iterate is not None else list(app.routes)
    found = []
    for route in routes:
        path = getattr(route, "path", None)  # mounts and other BaseRoutes may have none
        if isinstance(path, str) and path.startswith(PREFIX + "/"):
            found.append((path, set(getattr(route, "methods", None) or ())))
    return found


async def unknown_api_path(request: Request) -> JSONResponse:
    """404 in the JSON shape, or 405 with Allow when the path exists for other methods."""
    allowed: set[str] = set()
    for path, methods in api_routes(request.app):
        if compile_path(path)[0].fullmatch(request.url.path):
            allowed |= methods
    if allowed:
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed here",
                              headers={"Allow": ", ".join(sorted(allowed))})
    return error_response(404, "not_found", f"no API endpoint {request.url.path}")


def install(app: FastAPI) -> None:
    app.state.task_queue = TaskQueue(app.state.settings)
    app.include_router(api_router())
    docs.install(app)
    webhooks.install(app)
    app.add_api_route("/api/{rest:path}", unknown_api_path, methods=ALL_METHODS, include_in_schema=False)
