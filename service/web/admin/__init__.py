"""The admin site under /admin: server-rendered pages on the public pages' layout and CSS.

``install(app)`` adds the routes (every one an ``AdminRoute``: session and CSRF checked before
the page runs), the admin stylesheet at /admin/static, and the state the pages share.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from service.task_queue import TaskQueue
from service.web.admin import (
    audit,
    bounces,
    dashboard,
    deliveries,
    imports,
    login,
    outbox,
    sources,
    subscriber,
    subscribers,
    tokens,
    topics,
    users,
)
from service.web.admin.audit_lines import change_lines
from service.web.admin.auth import Sessions
from service.web.admin.state import AdminState
from service.web.public.dispatch import default_dispatch
from service.web.templating import install_web

STATIC_DIR = Path(__file__).resolve().parent / "static"
MODULES = (login, dashboard, subscribers, subscriber, imports, topics, sources, deliveries, outbox, tokens, audit, bounces,
           users)


def _versions() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in STATIC_DIR.iterdir() if p.is_file()}


def install(app: FastAPI) -> None:
    install_web(app)
    settings = app.state.settings
    public = getattr(app.state, "public", None)
    queue = getattr(app.state, "task_queue", None) or TaskQueue(settings)
    app.state.admin = AdminState(
        settings=settings,
        sessions=Sessions(settings),
        dispatch=public.dispatch if public is not None else default_dispatch(settings),
        queue=queue,
    )
    versions = _versions()
    env = app.state.templates.env
    env.globals["admin_static_url"] = lambda name: f"/admin/static/{name}?v={versions.get(name, '0')}"
    env.globals["change_lines"] = change_lines
    app.mount("/admin/static", StaticFiles(directory=STATIC_DIR), name="admin-static")
    for module in MODULES:
        app.include_router(module.router)
