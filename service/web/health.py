"""/healthz: database + broker, 503 when either is down; the relay's circuit breaker and the
sources as detail. (/metrics is service.web.metrics.)"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from config.settings import Settings
from service.mail.breaker import relay_status
from service.storage import db

def check_database(settings: Settings) -> dict[str, Any]:
    try:
        db.ping(settings)
    except Exception as exc:  # any driver error means "down"; the detail says which
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
    return {"ok": True}


def check_broker(settings: Settings) -> dict[str, Any]:
    if settings.broker_is_embedded:
        folder = settings.broker_dir / "queue"
        ok = folder.is_dir() and _writable(folder)
        return {"ok": ok, "kind": "filesystem"} | ({} if ok else {"error": f"{folder} is not writable"})
    import redis

    try:
        redis.Redis.from_url(settings.effective_broker_url, socket_timeout=2, socket_connect_timeout=2).ping()
    except Exception as exc:  # connection refused, auth, timeout: all "down"
        return {"ok": False, "kind": "redis", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "kind": "redis"}


def sources_health(settings: Settings) -> dict[str, str]:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from service.ingest.health import source_health
    from service.storage.models import Source

    now, stale = datetime.now(UTC), timedelta(hours=settings.source_stale_hours)
    try:
        with db.session_scope(settings) as session:
            return {s.name: source_health(s, now, stale) for s in session.scalars(select(Source).order_by(Source.name))}
    except SQLAlchemyError:  # schema not created yet: nothing polled
        return {}


def _writable(folder: Any) -> bool:
    import os

    return os.access(folder, os.W_OK)


def install(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if settings.broker_is_embedded:
        (settings.broker_dir / "queue").mkdir(parents=True, exist_ok=True)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        checks = {
            "database": await run_in_threadpool(check_database, settings),
            "broker": await run_in_threadpool(check_broker, settings),
        }
        healthy = all(check["ok"] for check in checks.values())
        body: dict[str, Any] = {"status": "ok" if healthy else "unavailable", "checks": checks}
        if checks["database"]["ok"]:
            # Detail only: a broken feed is an admin's concern, not a reason to pull the web out.
            body["sources"] = await run_in_threadpool(sources_health, settings)
        if settings.mail_backend == "smtp":
            # The relay's circuit breaker, as the workers share it: open means sending is paused.
            # Detail too (the web serves on), but the status says so.
            body["relay"] = await run_in_threadpool(relay_status, settings)
            if healthy and body["relay"]["state"] in ("open", "probing"):
                body["status"] = "degraded"
        return JSONResponse(body, status_code=200 if healthy else 503)
