"""`papermail up | web | worker | beat`: the long-running roles."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
import time
from types import FrameType

import typer

from config.settings import DEFAULT_SECRET_KEY, Settings, get_settings
from service.cli.errors import UsageError

# Each role imports what it uses, in its function: Alembic (prepare), httpx (up's children) and
# the deployment checks (they load the mail package) cost a start 0.1-0.3 s apiece, and a
# worker or beat needs neither Alembic nor httpx, web no checks.


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("web")(web)
    app.command("worker")(worker)
    app.command("beat")(beat)


def prepare(settings: Settings) -> None:
    """Create DATA_DIR and bring the schema to head (idempotent; cheap when already there)."""
    from service.storage import migrate

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings)


def refuse_exposed_default_secret(settings: Settings, host: str) -> None:
    """Outside loopback the development SECRET_KEY is public knowledge: anyone could forge links."""
    if settings.secret_key == DEFAULT_SECRET_KEY and not is_loopback(host):
        raise UsageError(
            f"refusing to serve on {host} with the development PAPERMAIL_SECRET_KEY: anyone could forge "
            "links with it; set a long random secret (see the README)"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def up(
    host: str = typer.Option(None, help="Interface to serve on (default: WEB_HOST)."),
    port: int = typer.Option(None, help="Port to serve on (default: WEB_PORT)."),
) -> None:
    """Run web + worker + beat on the configured backends (embedded by default)."""
    from service.cli import children as children_of_up

    settings = get_settings()
    host = host or settings.web_host
    port = port or settings.web_port
    refuse_exposed_default_secret(settings, host)
    if children_of_up.port_taken(host, port):
        raise UsageError(f"{host}:{port} is already in use; stop what listens there or pass --port")
    prepare(settings)
    me = [sys.executable, "-m", "service.cli"]
    roles = {
        "web": me + ["web", "--host", host, "--port", str(port), "--no-migrate"],
        "worker": me + ["worker"],
        "beat": me + ["beat"],
    }
    children = {name: children_of_up.spawn(argv) for name, argv in roles.items()}

    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    url_host = f"[{host}]" if ":" in host else host
    if children_of_up.wait_until_answering(f"http://{url_host}:{port}/healthz", children, timeout=120):
        typer.echo(f"papermail is up at http://{url_host}:{port}/ (Ctrl-C stops web, worker and beat)")
    failed: str | None = None
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                failed = f"{name} exited with code {child.returncode}"
                stopping = True
        # signal.pause would miss a child dying; a short poll keeps both paths simple.
        time.sleep(0.2)
    children_of_up.shutdown(children)
    if failed:
        typer.echo(f"papermail: {failed}; stopped the others", err=True)
        raise typer.Exit(1)


def web(
    host: str = typer.Option(None, help="Interface to serve on (default: WEB_HOST)."),
    port: int = typer.Option(None, help="Port to serve on (default: WEB_PORT)."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
    migrate_first: bool = typer.Option(True, "--migrate/--no-migrate", help="Apply migrations first."),
) -> None:
    """Run the web app (public pages, admin, API) with uvicorn."""
    import uvicorn

    settings = get_settings()
    host = host or settings.web_host
    refuse_exposed_default_secret(settings, host)
    if migrate_first:
        prepare(settings)
    uvicorn.run(
        "service.web.app:create_app",
        factory=True,
        host=host,
        port=port or settings.web_port,
        workers=workers,
        log_level=settings.log_level.lower(),
        # Forwarded headers only from the proxies listed: uvicorn's own default trusts 127.0.0.1.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or "",
    )


def worker(
    concurrency: int = typer.Option(0, help="Worker processes (default: CPU count)."),
    queues: str = typer.Option("transactional,digests,ingest", help="Comma-separated queues."),
) -> None:
    """Run a Celery worker on the configured broker."""
    from service.cli.check import refuse_failed_checks

    settings = get_settings()
    refuse_failed_checks(settings, "worker")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from workers.celery_app import app

    argv = ["worker", "--queues", queues, "--loglevel", settings.log_level, "--without-gossip", "--without-mingle"]
    argv += ["--concurrency", str(concurrency or os.cpu_count() or 1)]
    app.worker_main(argv)


def beat() -> None:
    """Run Celery beat: source polling and the digest planner on their intervals."""
    from service.cli.check import refuse_failed_checks

    settings = get_settings()
    refuse_failed_checks(settings, "beat")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from workers.celery_app import app

    schedule = settings.data_dir.resolve() / "celerybeat-schedule"
    app.start(["beat", "--loglevel", settings.log_level, "--schedule", str(schedule)])
