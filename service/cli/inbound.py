"""`papermail inbound`: receive bounces, complaints and mailto unsubscribes.

Two ways in, one processing path (``service.inbound.process``):

- ``papermail inbound [--host H] [--port P] [--lmtp]`` runs the SMTP (or LMTP) receiver that an
  MX record or a relay's transport points at the bounce and unsubscribe addresses;
- ``papermail inbound --imap [--once]`` polls the IMAP mailbox at a provider (INBOUND_IMAP_*)
  every INBOUND_IMAP_POLL_SECONDS; ``--once`` polls once and exits (for cron, or a first look).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType

import typer

from config.settings import Settings, get_settings
from service.cli.errors import UsageError
from service.cli.serve import prepare, refuse_exposed_default_secret
from service.inbound.addresses import InboundAddresses
from service.inbound.imap import MailboxError, poll_forever, poll_once
from service.inbound.process import InboundProcessor


def register(app: typer.Typer) -> None:
    app.command("inbound")(inbound)


def _log_to_stderr(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def inbound(
    host: str = typer.Option(None, help="Interface to listen on (default: INBOUND_HOST)."),
    port: int = typer.Option(None, min=0, max=65535, help="Port to listen on (default: INBOUND_PORT; 0: any free one)."),
    lmtp: bool = typer.Option(None, "--lmtp/--smtp", help="Speak LMTP instead of SMTP (default: INBOUND_LMTP)."),
    imap: bool = typer.Option(False, "--imap", help="Poll the IMAP mailbox (INBOUND_IMAP_*) instead of listening."),
    once: bool = typer.Option(False, "--once", help="With --imap: poll once, print what was done, and exit."),
) -> None:
    """Receive bounces, complaints and mailto unsubscribes (SMTP/LMTP receiver, or IMAP polling)."""
    settings = get_settings()
    if once and not imap:
        raise UsageError("--once goes with --imap (the receiver runs until stopped)")
    if imap:
        if host is not None or port is not None or lmtp is not None:
            raise UsageError("--host, --port and --lmtp are for the receiver, not for --imap")
        if not settings.inbound_imap_host:
            raise UsageError("set PAPERMAIL_INBOUND_IMAP_HOST (and _USERNAME, _PASSWORD) to poll a mailbox")
        prepare(settings)
        _log_to_stderr(settings)
        _poll(settings, once)
        return
    host = host or settings.inbound_host
    port = settings.inbound_port if port is None else port
    refuse_exposed_default_secret(settings, host)
    prepare(settings)
    _log_to_stderr(settings)
    addresses = InboundAddresses.from_settings(settings)
    protocol = "LMTP" if (settings.inbound_lmtp if lmtp is None else lmtp) else "SMTP"

    def ready(bound_host: str, bound_port: int) -> None:
        typer.echo(f"papermail inbound: {protocol} on {bound_host}:{bound_port} for {addresses.describe()} "
                   "(Ctrl-C stops)")

    from service.inbound.receiver import serve  # aiosmtpd is loaded by this command only

    try:
        asyncio.run(serve(settings, host, port, lmtp=protocol == "LMTP", on_ready=ready))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _poll(settings: Settings, once: bool) -> None:
    processor = InboundProcessor(settings)
    if once:
        try:
            report = poll_once(settings, processor)
        except MailboxError as exc:
            raise UsageError(str(exc)) from None
        for result in report.results:
            typer.echo(result.line())
        typer.echo(f"papermail inbound: {report.line()}", err=True)
        return
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    typer.echo(f"papermail inbound: polling {settings.inbound_imap_host} folder {settings.inbound_imap_folder!r} "
               f"every {settings.inbound_imap_poll_seconds:g}s (Ctrl-C stops)")
    poll_forever(settings, stop, processor)
