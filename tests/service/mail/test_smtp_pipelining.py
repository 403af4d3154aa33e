"""SMTP PIPELINING (RFC 2920): against a real server (aiosmtpd) announcing it, the envelope goes
in one write, every refusal is still reported at its stage, and the connection is reused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from service.mail import Composer, DeliveryError, OutgoingMail, SmtpBackend, Unsubscribe
from tests.support.smtp_sink import SmtpSink, _Handler

pytestmark = pytest.mark.integration


class PipeliningHandler(_Handler):
    """The tests' sink, announcing PIPELINING (aiosmtpd reads commands one by one either way)."""

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        responses = await super().handle_EHLO(server, session, envelope, hostname, responses)
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


@pytest.fixture
def pipelining_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    monkeypatch.setattr("tests.support.smtp_sink._Handler", PipeliningHandler)
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def mail_to(composer: Composer, to: str) -> OutgoingMail:
    return composer.compose(to_address=to, subject="Two papers", text="Two papers.\n.\nA dot line.\n",
                            html="<p>Two papers.</p>", message_key=to,
                            unsubscribe=Unsubscribe("https://papermail.test/unsubscribe/tok", "tok"))


@pytest.fixture
def backend(pipelining_sink: SmtpSink) -> Iterator[SmtpBackend]:
    smtp = SmtpBackend(host="127.0.0.1", port=pipelining_sink.port, timeout=10)
    yield smtp
    smtp.close()


def test_the_envelope_goes_in_one_write_and_the_bytes_arrive_exactly(
    backend: SmtpBackend, composer: Composer, pipelining_sink: SmtpSink, writes: list[bytes]
) -> None:
    mails = [mail_to(composer, f"reader{i}@example.com") for i in range(3)]
    for mail in mails:
        backend.send(mail.envelope_from, mail.to, mail.data)

    received = pipelining_sink.wait_for(3)
    assert [r.data for r in received] == [m.data for m in mails]
    assert [r.rcpt_tos for r in received] == [[m.to] for m in mails]
    envelopes = [w for w in writes if w.startswith(b"MAIL FROM:")]
    assert len(envelopes) == 3
    assert envelopes[0] == b"MAIL FROM:<digest@papermail.test>\r\nRCPT TO:<reader0@example.com>\r\nDATA\r\n"
    # After EHLO: two writes per message (envelope, content), where unpipelined SMTP needs four.
    assert len(writes[writes.index(envelopes[0]):]) == 6
    assert backend.connections_opened == 1 and pipelining_sink.sessions == 1


def test_a_refused_recipient_is_a_hard_bounce_and_the_next_message_goes_through(
    backend: SmtpBackend, composer: Composer, pipelining_sink: SmtpSink
) -> None:
    pipelining_sink.answer("gone@example.com", "550 5.1.1 no such mailbox")
    gone, alice = mail_to(composer, "gone@example.com"), mail_to(composer, "alice@example.com")
    with pytest.raises(DeliveryError) as refused:
        backend.send(gone.envelope_from, gone.to, gone.data)
    assert refused.value.permanent and refused.value.hard_bounce and "RCPT TO" in str(refused.value)

    backend.send(alice.envelope_from, alice.to, alice.data)
    [received] = pipelining_sink.wait_for(1)
    assert received.rcpt_tos == ["alice@example.com"] and received.data == alice.data
    assert backend.connections_opened == 1


def test_a_transient_refusal_stays_transient(
    backend: SmtpBackend, composer: Composer, pipelining_sink: SmtpSink
) -> None:
    pipelining_sink.answer("later@example.com", "451 4.7.1 try again later", times=1)
    mail = mail_to(composer, "later@example.com")
    with pytest.raises(DeliveryError) as refused:
        backend.send(mail.envelope_from, mail.to, mail.data)
    assert not refused.value.permanent and refused.value.code == 451

    backend.send(mail.envelope_from, mail.to, mail.data)  # the retry, on the same connection
    assert [r.rcpt_tos for r in pipelining_sink.wait_for(1)] == [["later@example.com"]]
    assert backend.connections_opened == 1


def test_a_refused_data_after_a_good_envelope_is_reported_as_data(
    backend: SmtpBackend, composer: Composer, pipelining_sink: SmtpSink
) -> None:
    mail = mail_to(composer, "held@example.com")
    hold = pipelining_sink.hold("held@example.com")
    hold.released.set()  # the sink answers the content with 451 at once
    with pytest.raises(DeliveryError) as refused:
        backend.send(mail.envelope_from, mail.to, mail.data)
    assert "DATA" in str(refused.value) and not refused.value.permanent
