"""The inbound SMTP/LMTP receiver in this process (aiosmtpd on a loopback port), spoken to with
smtplib: our addresses are accepted, every other recipient refused at RCPT, a message answered
250 only once its effect is committed, and 451 when the database cannot take it."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from config.settings import Settings
from service.inbound.receiver import protocol_factory
from service.inbound.verp import BounceAddresses, BounceRef
from service.storage.db import session_scope
from service.storage.models import Subscriber
from tests.service.actions.factories import reader, sent
from tests.service.inbound import messages as m
from tests.support.smtp_sink import EphemeralPortController

pytestmark = pytest.mark.integration


class InboundController(EphemeralPortController):
    def __init__(self, settings: Settings, lmtp: bool) -> None:
        self._factory = protocol_factory(settings, lmtp=lmtp)
        super().__init__(None, hostname="127.0.0.1", port=0)

    def factory(self) -> SMTP:
        return self._factory()


@contextmanager
def receiver(settings: Settings, lmtp: bool = False) -> Iterator[Controller]:
    controller = InboundController(settings, lmtp)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def world(db_settings: Settings) -> Settings:
    return db_settings.model_copy(update={"mail_from": "Papermail <digest@papermail.test>"})


def digest_sent(settings: Settings) -> tuple[int, str]:
    with session_scope(settings) as session:
        alice = reader(session)
        delivery = sent(session, alice)
        return alice.id, BounceAddresses.from_settings(settings).address(BounceRef("delivery", delivery.id))


def status(settings: Settings, subscriber_id: int) -> str:
    with session_scope(settings) as session:
        row = session.get(Subscriber, subscriber_id)
        assert row is not None
        return row.status


def test_a_dsn_over_smtp_suppresses_and_strangers_are_refused(world: Settings) -> None:
    alice, address = digest_sent(world)
    with receiver(world) as controller, smtplib.SMTP("127.0.0.1", controller.port, timeout=10) as client:
        assert client.ehlo()[0] == 250
        assert client.mail("<>")[0] == 250
        assert client.rcpt("postmaster@papermail.test")[0] == 550
        assert client.rcpt("someone@elsewhere.test")[0] == 550  # no open relay
        assert client.rcpt("bounces+aaaaaaaaaaaaaaaaaaaaaaa@papermail.test")[0] == 550  # forged token
        assert client.rcpt(address)[0] == 250
        code, reply = client.data(m.dsn(address))
        assert code == 250 and b"hard: suppressed" in reply
    assert status(world, alice) == "suppressed"


def test_lmtp_answers_once_per_recipient(world: Settings) -> None:
    alice, address = digest_sent(world)
    with receiver(world, lmtp=True) as controller:
        client = smtplib.LMTP("127.0.0.1", controller.port, timeout=10)
        try:
            assert client.ehlo()[0] == 250  # smtplib.LMTP sends LHLO
            assert client.mail("<>")[0] == 250
            assert client.rcpt(address)[0] == 250
            assert client.rcpt("bounces@papermail.test")[0] == 250
            assert client.docmd("DATA")[0] == 354
            client.send(m.dsn(address) + b".\r\n")
            replies = [client.getreply(), client.getreply()]
            assert [code for code, _ in replies] == [250, 250]
        finally:
            client.close()
    assert status(world, alice) == "suppressed"


def test_a_database_outage_asks_the_sender_to_retry(world: Settings) -> None:
    _, address = digest_sent(world)
    broken = world.model_copy(update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    with receiver(broken) as controller, smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as client:
        client.ehlo()
        client.mail("<>")
        assert client.rcpt(address)[0] == 250
        code, _ = client.data(m.dsn(address))
        assert code == 451
