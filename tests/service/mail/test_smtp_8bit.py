"""8BITMIME (RFC 6152) against a real server (aiosmtpd): the composer learns from the backend's
last EHLO whether the text part may go as 8bit; such a message goes with BODY=8BITMIME and
arrives byte for byte; a relay that stops announcing it gets no 8bit message, and the next
message is composed for it again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from service.mail import Composer, DeliveryError, OutgoingMail, SenderIdentity, SmtpBackend, Unsubscribe
from service.mail.breaker import LocalBreaker, Policy
from service.mail.message import parse_sender
from service.mail.smtp import NeedsSevenBit
from tests.support.smtp_sink import SmtpSink, _Handler

pytestmark = pytest.mark.integration
TEST_SENDER = SenderIdentity(parse_sender("Papermail <digest@papermail.test>", "PAPERMAIL_MAIL_FROM"))

options_seen: list[list[str]] = []  # MAIL FROM parameters of each accepted message, in order


class RecordingHandler(_Handler):
    """The tests' sink, noting each message's MAIL FROM parameters, and announcing 8BITMIME
    unless the class says otherwise (aiosmtpd announces it, and takes 8bit, either way)."""

    announce_8bitmime = True

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        responses = await super().handle_EHLO(server, session, envelope, hostname, responses)
        if self.announce_8bitmime:
            return responses
        return [line for line in responses if "8BITMIME" not in line]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        options_seen.append(list(envelope.mail_options))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    options_seen.clear()
    monkeypatch.setattr("tests.support.smtp_sink._Handler", RecordingHandler)
    monkeypatch.setattr(RecordingHandler, "announce_8bitmime", True)
    smtp_sink = SmtpSink()
    smtp_sink.start()
    yield smtp_sink
    smtp_sink.stop()


@pytest.fixture
def backend(sink: SmtpSink) -> Iterator[SmtpBackend]:
    smtp = SmtpBackend(host="127.0.0.1", port=sink.port, timeout=10, breaker=LocalBreaker(Policy(failures=1)))
    yield smtp
    smtp.close()


def digest(composer: Composer, to: str) -> OutgoingMail:
    return composer.compose(to_address=to, subject="2 papers", text="▲ 12 · Agents\n.\n👍 More like this\n",
                            html="<p>▲ 12</p>", message_key=to,
                            unsubscribe=Unsubscribe("https://papermail.test/unsubscribe/tok", "tok"))  # fmt: skip


def test_after_the_first_ehlo_text_goes_8bit_with_body_8bitmime_and_arrives_exactly(
    backend: SmtpBackend, sink: SmtpSink
) -> None:
    composer = Composer(TEST_SENDER, takes_8bit=backend.takes_8bit)
    assert not backend.takes_8bit()  # nothing known before the first connection: quoted-printable
    first = digest(composer, "ann@example.org")
    assert first.data.isascii() and b"Content-Transfer-Encoding: quoted-printable" in first.data
    backend.send(first.envelope_from, first.to, first.data)

    assert backend.takes_8bit()
    second = digest(composer, "bob@example.org")
    assert b"Content-Transfer-Encoding: 8bit" in second.data and "▲ 12".encode() in second.data
    backend.send(second.envelope_from, second.to, second.data)

    assert [r.data for r in sink.wait_for(2)] == [first.data, second.data]
    assert options_seen == [[], ["BODY=8BITMIME"]]  # the parameter only where the body is 8bit
    assert backend.connections_opened == 1


def test_a_relay_that_stops_announcing_8bitmime_gets_no_8bit_and_the_retry_is_composed_for_it(
    backend: SmtpBackend, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    composer = Composer(TEST_SENDER, takes_8bit=backend.takes_8bit)
    warm = digest(composer, "ann@example.org")
    backend.send(warm.envelope_from, warm.to, warm.data)
    eight = digest(composer, "bob@example.org")
    assert not eight.data.isascii()

    monkeypatch.setattr(RecordingHandler, "announce_8bitmime", False)
    backend.close()  # the next connection meets the relay as it is now
    with pytest.raises(NeedsSevenBit) as refused:
        backend.send(eight.envelope_from, eight.to, eight.data)
    assert isinstance(refused.value, DeliveryError) and not refused.value.permanent
    assert backend.breaker is not None and not backend.breaker.state().is_open  # the relay is up

    assert not backend.takes_8bit()
    again = digest(composer, "bob@example.org")
    assert again.data.isascii() and again.message_id == eight.message_id
    backend.send(again.envelope_from, again.to, again.data)
    assert [r.data for r in sink.wait_for(2)] == [warm.data, again.data]
    assert options_seen == [[], []]
