"""`papermail check [--connect]`: the bulk-sender and deployment rules, one line per failed rule.

Exit 0 when every rule holds (or is acknowledged in CHECK_ACKNOWLEDGE), 2 otherwise. Failed rules
go to stdout as ``FAIL <rule>: <what to do>``, acknowledged ones as ``ACK <rule>: ...``, then the
DNS records to publish (``publish: ...``); the summary goes to stderr. ``--connect`` also opens
an SMTP session with the relay: connect, EHLO, STARTTLS when configured, AUTH when a username is.
"""

from __future__ import annotations

import smtplib
import ssl

import typer

from config.settings import Settings, get_settings
from service.admin.deploy_checks import Finding, evaluate, read_dkim_keys, routing_hint, start_refusal
from service.cli.errors import UsageError

CONNECT_TIMEOUT_SECONDS = 15.0


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def probe_smtp(settings: Settings, ssl_context: ssl.SSLContext | None = None) -> Finding | None:
    """Talk to the configured relay as the SMTP backend would, and say what failed (None: it works)."""
    if settings.mail_backend != "smtp":
        return None
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    context = ssl_context or ssl.create_default_context()
    timeout = min(settings.smtp_timeout_seconds, CONNECT_TIMEOUT_SECONDS)
    conn: smtplib.SMTP | None = None
    step = "connect"
    try:
        if settings.smtp_security == "ssl":
            conn = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout, context=context)
        else:
            conn = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        step = "EHLO"
        code, reply = conn.ehlo()
        if code != 250:
            raise smtplib.SMTPResponseException(code, reply)
        if settings.smtp_security == "starttls":
            step = "STARTTLS"
            conn.starttls(context=context)
            conn.ehlo()
        if settings.smtp_username:
            step = "AUTH"
            conn.login(settings.smtp_username, settings.smtp_password)
        conn.quit()
    except (smtplib.SMTPException, OSError) as exc:
        if conn is not None:
            conn.close()
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return Finding("smtp-reachable", f"the SMTP relay {where} failed at {step}: {detail} "
                                         "(PAPERMAIL_SMTP_HOST/PORT/SECURITY/USERNAME/PASSWORD)")
    return None


def check(
    connect: bool = typer.Option(False, "--connect", help="Also open an SMTP session with the relay."),
) -> None:
    """Check this deployment against the bulk-sender rules; exit 2 when a rule fails."""
    settings = get_settings()
    extra = None
    if connect:
        found = probe_smtp(settings)
        extra = [found] if found is not None else []
    report = evaluate(settings, read_dkim_keys(settings), extra)
    for finding in report.failures:
        typer.echo(f"FAIL {finding.rule}: {finding.message}")
    for finding in report.acknowledged:
        typer.echo(f"ACK {finding.rule}: {finding.message} (acknowledged in PAPERMAIL_CHECK_ACKNOWLEDGE)")
    for record in report.records:
        typer.echo(f"publish: {record}")
    typer.echo(f"route: {routing_hint(settings)}")
    if report.failures:
        typer.echo(f"papermail check: {len(report.failures)} rule(s) failed of {report.checked}", err=True)
        raise typer.Exit(2)
    typer.echo(f"papermail check: all {report.checked} rules hold"
               + (f" ({len(report.acknowledged)} acknowledged)" if report.acknowledged else ""), err=True)


def refuse_failed_checks(settings: Settings, role: str) -> None:
    """In production, ROLE does not start while a rule fails: one line naming the rules."""
    refusal = start_refusal(settings, role)
    if refusal is not None:
        raise UsageError(refusal)
