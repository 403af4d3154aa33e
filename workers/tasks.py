"""Thin Celery tasks: JSON ids and strings in, a call into service code, a small result out."""

from __future__ import annotations

import os
import socket

from config.settings import get_settings
from workers.celery_app import app


@app.task(name="workers.tasks.ping")
def ping(payload: str = "ping") -> dict[str, str | int]:
    """Round-trip check for health probes and tests: proves a worker consumed and answered."""
    return {"payload": payload, "host": socket.gethostname(), "pid": os.getpid()}


@app.task(name="workers.tasks.poll_due_sources")
def poll_due_sources() -> dict[str, str]:
    """Beat's tick: enqueue one poll per due source, so one slow or failing source blocks none.
    Returns {source name: poll task id}."""
    from service.ingest.poll import claim_due_sources

    return {name: poll_source.delay(name).id for name in claim_due_sources(get_settings())}


@app.task(name="workers.tasks.poll_source")
def poll_source(name: str) -> str:
    from service.ingest.poll import poll_source as poll

    return poll(get_settings(), name).line()
