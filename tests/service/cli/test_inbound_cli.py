"""`papermail inbound` as an operator runs it, on real services: a digest goes out through SMTP with
its VERP address as MAIL FROM; what comes back reaches the real receiver (a subprocess, spoken to
with smtplib on loopback) or a real IMAP mailbox (Dovecot) that `papermail inbound --imap` polls."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from service.actions.inbound import InboundResult
from service.digests.run import run_foreground
from service.inbound.imap import poll_forever
from service.inbound.process import InboundProcessor
from service.inbound.reports import list_unsubscribe_token
from service.inbound.verp import BounceAddresses, BounceRef
from service.ingest.poll import ingest_document
from service.mail.toolkit import DeliveryTools
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import AuditLog, Delivery, Subscriber
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from service.subscribers.tokens import make_token
from tests.conftest import make_settings, skip_or_fail
from tests.service.inbound import messages as m
from tests.service.ingest.documents import hf_item, hf_json
from tests.support.cli import run_cli
from tests.support.imap_server import ImapServer, dovecot, dovecot_available
from tests.support.processes import free_port, papermail_process
from tests.support.smtp_sink import Received, SmtpSink

pytestmark = pytest.mark.integration

THURSDAY = datetime(2026, 11, 26, 12, tzinfo=UTC)
FRIDAY_0800 = datetime(2026, 11, 27, 8, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path / "var", mail_from="Papermail Digest <digest@papermail.test>",
                             base_url="https://papermail.test", soft_bounce_limit=2)
    migrate.upgrade(settings)
    ingest_document(settings, hf_json(hf_item("2611.70001", "Two-bit quantization of language models", 40)),
                    source_name="hf-daily", now=THURSDAY)
    return settings


def subscribe(settings: Settings, *emails: str) -> list[int]:
    with session_scope(settings) as session:
        return [create_subscriber(session, e, Preferences(send_hour=8), confirmed=True, now=LONG_AGO).id
                for e in emails]


def send_digests(settings: Settings, sink: SmtpSink, count: int) -> list[Received]:
    smtp = settings.model_copy(update=sink.settings_overrides())
    tools = DeliveryTools.from_settings(smtp)
    try:
        run_foreground(smtp, FRIDAY_0800, tools, sleep=lambda s: None)
    finally:
        tools.backend.close()
    return sink.wait_for(count)


def status(settings: Settings, subscriber_id: int) -> tuple[str, int]:
    with session_scope(settings) as session:
        row = session.get(Subscriber, subscriber_id)
        assert row is not None
        return row.status, row.soft_bounces


def returned(received: Received) -> str:
    """The header of the digest as received: what a DSN or ARF report sends back."""
    return received.data.split(b"\r\n\r\n", 1)[0].decode()


def wait_for_smtp(port: int, proc: object, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:  # type: ignore[attr-defined]
            raise RuntimeError(f"papermail inbound exited:\n{log.read_text()[-3000:]}")
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as probe:
                probe.noop()
            return
        except OSError:
            time.sleep(0.05)  # the receiver is starting; the deadline bounds it
    raise TimeoutError(f"papermail inbound did not answer on {port}:\n{log.read_text()[-3000:]}")


def deliver(port: int, to: str, data: bytes, mail_from: str = "<>") -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("mx.example.net")
        assert client.mail(mail_from)[0] == 250
        code, reply = client.rcpt(to)
        if code != 250:
            return code, reply
        return client.data(data)


@pytest.fixture
def receiver(world: Settings, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    log = tmp_path / "inbound.log"
    with papermail_process(["inbound", "--port", str(port)], world, world.data_dir.parent, log) as proc:
        wait_for_smtp(port, proc, log)
        yield port
    text = log.read_text()
    assert f"papermail inbound: SMTP on 127.0.0.1:{port} for bounces@papermail.test" in text
    assert "Traceback" not in text


def test_digest_bounces_complaints_and_mailto_through_the_real_receiver(
    world: Settings, smtp_sink: SmtpSink, receiver: int
) -> None:
    alice, bob, carol, dave = subscribe(world, "alice@example.org", "bob@example.org", "carol@example.org",
                                        "dave@example.org")
    received = {r.rcpt_tos[0]: r for r in send_digests(world, smtp_sink, 4)}
    bounces = BounceAddresses.from_settings(world)
    with session_scope(world) as session:
        deliveries = {d.subscriber_id: d.id for d in session.query(Delivery)}
    # The contract: a digest's MAIL FROM is its own VERP bounce address.
    for subscriber_id, address in [(alice, "alice@example.org"), (bob, "bob@example.org")]:
        assert bounces.read(received[address].mail_from) == BounceRef("delivery", deliveries[subscriber_id])

    hard_to = received["alice@example.org"].mail_from
    code, reply = deliver(receiver, hard_to, m.dsn(hard_to, returned=returned(received["alice@example.org"])))
    assert code == 250 and b"suppressed" in reply
    assert status(world, alice) == ("suppressed", 0)

    soft_to = received["bob@example.org"].mail_from
    soft = m.dsn(soft_to, "bob@example.org", status="4.2.2", diagnostic="smtp; 452 4.2.2 over quota")
    assert deliver(receiver, soft_to, soft)[0] == 250
    assert status(world, bob) == ("active", 1)
    assert deliver(receiver, soft_to, soft)[0] == 250
    assert status(world, bob) == ("suppressed", 2)  # SOFT_BOUNCE_LIMIT=2

    complaint = m.arf("bounces@papermail.test", original_rcpt_to=None,
                      original_mail_from=received["carol@example.org"].mail_from,
                      returned=returned(received["carol@example.org"]))
    assert deliver(receiver, "bounces@papermail.test", complaint, "feedback@fbl.example.net")[0] == 250
    assert status(world, carol)[0] == "suppressed"

    # What a mail client does with the digest's List-Unsubscribe mailto.
    token = list_unsubscribe_token(received["dave@example.org"].message)
    assert token is not None
    assert deliver(receiver, "unsubscribe@papermail.test", m.unsubscribe_mail(token), "dave@example.org")[0] == 250
    assert status(world, dave)[0] == "unsubscribed"

    with session_scope(world) as session:
        actions = [a for (a,) in session.query(AuditLog.action).filter(AuditLog.actor.like("inbound:%"))]
    assert actions == ["bounce.hard", "bounce.soft", "bounce.soft", "bounce.complaint"]


def test_the_receiver_refuses_strangers_and_forged_tokens(world: Settings, receiver: int) -> None:
    [alice] = subscribe(world, "alice@example.org")
    assert deliver(receiver, "alice@example.org", m.plain_mail("alice@example.org"))[0] == 550
    forged = "bounces+aaaaaaaaaaaaaaaaaaaaaaa@papermail.test"
    assert deliver(receiver, forged, m.dsn(forged))[0] == 550
    # A plain bounce address takes the mail, but a report with a forged token inside changes nothing.
    inside = m.arf("bounces@papermail.test", original_mail_from=forged)
    code, reply = deliver(receiver, "bounces@papermail.test", inside)
    assert code == 250 and b"ignored" in reply
    assert status(world, alice) == ("active", 0)


def test_inbound_usage_errors_are_one_line(world: Settings) -> None:
    for args, expected in [(["inbound", "--once"], "--once goes with --imap"),
                           (["inbound", "--imap"], "PAPERMAIL_INBOUND_IMAP_HOST")]:
        result = run_cli(world, *args)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and result.stderr.strip().count("\n") == 0
    unreachable = world.model_copy(update={"inbound_imap_host": "127.0.0.1", "inbound_imap_port": free_port(),
                                           "inbound_imap_security": "none"})
    result = run_cli(unreachable, "inbound", "--imap", "--once")
    assert result.returncode == 2 and "cannot reach the IMAP server" in result.stderr
    assert result.stderr.strip().count("\n") == 0


# -- IMAP polling -------------------------------------------------------------------------------


@pytest.fixture
def imap() -> Iterator[ImapServer]:
    if not dovecot_available():
        skip_or_fail("Dovecot (dovecot-imapd) is not installed")
    with dovecot() as server:
        yield server


def imap_settings(settings: Settings, server: ImapServer, **extra: object) -> Settings:
    return settings.model_copy(update={
        "inbound_imap_host": server.host, "inbound_imap_port": server.port, "inbound_imap_security": "none",
        "inbound_imap_username": server.username, "inbound_imap_password": server.password, **extra,
    })


def test_imap_polling_applies_each_message_once(world: Settings, imap: ImapServer) -> None:
    alice, bob = subscribe(world, "alice@example.org", "bob@example.org")
    bounces = BounceAddresses.from_settings(world)
    with session_scope(world) as session:
        deliveries = {}
        for subscriber_id in (alice, bob):
            delivery = Delivery(subscriber_id=subscriber_id, period="2026-11-27", status="sent", sent_at=FRIDAY_0800)
            session.add(delivery)
            session.flush()
            deliveries[subscriber_id] = delivery.id
    # As a provider's mailbox holds them: the VERP address only in the headers.
    imap.append(m.dsn(bounces.address(BounceRef("delivery", deliveries[alice]))))
    imap.append(m.unsubscribe_mail(make_token(world, "unsubscribe", bob, 1)))
    imap.append(m.plain_mail("bounces@papermail.test"))
    settings = imap_settings(world, imap)

    first = run_cli(settings, "inbound", "--imap", "--once")
    assert first.returncode == 0, first.stderr
    assert "3 message(s)" in first.stderr
    assert status(world, alice)[0] == "suppressed" and status(world, bob)[0] == "unsubscribed"
    assert all("\\Seen" in flags for _, flags in imap.messages())

    second = run_cli(settings, "inbound", "--imap", "--once")
    assert second.returncode == 0 and "no new messages" in second.stderr
    with session_scope(world) as session:
        assert session.query(AuditLog).filter(AuditLog.actor == "inbound:imap").count() == 2  # hard + unknown


def test_imap_polling_moves_processed_messages_when_asked(world: Settings, imap: ImapServer) -> None:
    [alice] = subscribe(world, "alice@example.org")
    imap.append(m.qmail_bounce("digest@papermail.test", "alice@example.org"))
    settings = imap_settings(world, imap, inbound_imap_processed_folder="Papermail Done")
    result = run_cli(settings, "inbound", "--imap", "--once")
    assert result.returncode == 0, result.stderr
    assert status(world, alice)[0] == "suppressed"
    assert imap.messages() == []
    [(data, flags)] = imap.messages("Papermail Done")
    assert b"qmail-send" in data and "\\Seen" in flags


def test_the_poller_keeps_polling_until_stopped(world: Settings, imap: ImapServer) -> None:
    [alice] = subscribe(world, "alice@example.org")
    imap.append(m.qmail_bounce("digest@papermail.test", "alice@example.org"))
    stop = threading.Event()

    class StopAfterOne(InboundProcessor):
        def process(self, *args: Any, **kwargs: Any) -> InboundResult:
            try:
                return super().process(*args, **kwargs)
            finally:
                stop.set()

    settings = imap_settings(world, imap)
    poll_forever(settings, stop, StopAfterOne(settings))
    assert status(world, alice)[0] == "suppressed"
    assert all("\\Seen" in flags for _, flags in imap.messages())
