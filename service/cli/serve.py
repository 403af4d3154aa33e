"""`papermail up | web | worker | beat`: the long-running roles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

import typer

from config.settings import Settings, get_settings
from service.storage import migrate


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("web")(web)
    app.command("worker")(worker)
    app.command("beat")(beat)


def prepare(settings: Settings) -> None:
    """Create DATA_DIR and bring the schema to head (idempotent; cheap when already there)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings)


def up(
    host: str = typer.Option(None, help="Interface to serve on (default: WEB_HOST)."),
    port: int = typer.Option(None, help="Port to serve on (default: WEB_PORT)."),
) -> None:
    """Run web + worker + beat on the configured backends (embedded by default)."""
    settings = get_settings()
    prepare(settings)
    host = host or settings.web_host
    port = port or settings.web_port
    me = [sys.executable, "-m", "service.cli"]
    roles = {
        "web": me + ["web", "--host", host, "--port", str(port), "--no-migrate"],
        "worker": me + ["worker"],
        "beat": me + ["beat"],
    }
    children = {name: subprocess.Popen(argv) for name, argv in roles.items()}
    typer.echo(f"papermail is up at http://{host}:{port}/ (Ctrl-C stops web, worker and beat)")

    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    failed: str | None = None
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                failed = f"{name} exited with code {child.returncode}"
                stopping = True
        # signal.pause would miss a child dying; a short poll keeps both paths simple.
        time.sleep(0.2)
    shutdown(children)
    if failed:
        typer.echo(f"papermail: {failed}; stopped the others", err=True)
        raise typer.Exit(1)


def shutdown(children: dict[str, subprocess.Popen[bytes]], grace_seconds: float = 15.0) -> None:
    """SIGTERM every child (Celery finishes its current task), then SIGKILL stragglers."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def web(
    host: str = typer.Option(None, help="Interface to serve on (default: WEB_HOST)."),
    port: int = typer.Option(None, help="Port to serve on (default: WEB_PORT)."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
    migrate_first: bool = typer.Option(True, "--migrate/--no-migrate", help="Apply migrations first."),
) -> None:
    """Run the web app (public pages, admin, API) with uvicorn."""
    import uvicorn

    settings = get_settings()
    if migrate_first:
        prepare(settings)
    uvicorn.run(
        "service.web.app:create_app",
        factory=True,
        host=host or settings.web_host,
        port=port or settings.web_port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


def worker(
    concurrency: int = typer.Option(0, help="Worker processes (default: CPU count)."),
    queues: str = typer.Option("transactional,digests,ingest", help="Comma-separated queues."),
) -> None:
    """Run a Celery worker on the configured broker."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from workers.celery_app import app

    argv = ["worker", "--queues", queues, "--loglevel", settings.log_level, "--without-gossip", "--without-mingle"]
    argv += ["--concurrency", str(concurrency or os.cpu_count() or 1)]
    app.worker_main(argv)


def beat() -> None:
    """Run Celery beat: source polling and the digest planner on their intervals."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from workers.celery_app import app

    schedule = settings.data_dir.resolve() / "celerybeat-schedule"
    app.start(["beat", "--loglevel", settings.log_level, "--schedule", str(schedule)])
