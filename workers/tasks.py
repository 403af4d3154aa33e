"""Thin Celery tasks: JSON ids and strings in, a call into service code, a small result out."""

from __future__ import annotations

import os
import socket

from workers.celery_app import app


@app.task(name="workers.tasks.ping")
def ping(payload: str = "ping") -> dict[str, str | int]:
    """Round-trip check for health probes and tests: proves a worker consumed and answered."""
    return {"payload": payload, "host": socket.gethostname(), "pid": os.getpid()}
