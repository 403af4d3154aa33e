"""The SMTP backend against a real server (aiosmtpd), through a relay that counts connections."""

from __future__ import annotations

import multiprocessing
import os
import smtplib
import socket
from collections.abc import Iterator

import dkim
import pytest

from config.settings import Settings
from service.mail import Composer, DeliveryError, OutgoingMail, SmtpBackend, Unsubscribe, get_backend
from service.mail.smtp import dot_stuffed
from tests.service.mail.tcp_proxy import TcpProxy
from tests.support.dkim import DkimKey
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration


def mail_to(composer: Composer, to: str, key: str = "") -> OutgoingMail:
    return composer.compose(
        to_address=to,
        subject="2 new papers on agents — Nov 27",
        text="Two papers.\n.\nA line with a lone dot above (SMTP dot-stuffing).\n",
        html="<p>Two papers.</p>",
        message_key=key or to,
        unsubscribe=Unsubscribe("https://papermail.test/unsubscribe/tok", "tok"),
    )


@pytest.fixture
def backend(proxied_sink: TcpProxy) -> Iterator[SmtpBackend]:
    smtp = SmtpBackend(host="127.0.0.1", port=proxied_sink.port, timeout=10)
    yield smtp
    smtp.close()


def send(backend: SmtpBackend, mail: OutgoingMail) -> None:
    backend.send(mail.envelope_from, mail.to, mail.data)


def test_delivered_bytes_are_exactly_the_signed_bytes_and_dkim_verifies(
    dkim_settings: Settings, dkim_key: DkimKey, smtp_sink: SmtpSink
) -> None:
    settings = dkim_settings.model_copy(update=smtp_sink.settings_overrides())
    mail = mail_to(Composer.from_settings(settings), "alice@example.com")
    backend = get_backend(settings)
    try:
        result = backend.send(mail.envelope_from, mail.to, mail.data)
    finally:
        backend.close()

    [received] = smtp_sink.wait_for(1)
    assert received.data == mail.data
    assert received.mail_from == "digest@papermail.test" and received.rcpt_tos == ["alice@example.com"]
    assert result.message_id == mail.message_id and result.reply
    assert dkim.verify(received.data, dnsfunc=dkim_key.dnsfunc())
    signed = dkim.DKIM(received.data)
    signed.verify(dnsfunc=dkim_key.dnsfunc())
    assert {b"list-unsubscribe", b"list-unsubscribe-post"} <= set(signed.include_headers)


def test_one_connection_carries_many_messages(
    backend: SmtpBackend, composer: Composer, proxied_sink: TcpProxy, smtp_sink: SmtpSink
) -> None:
    mails = [mail_to(composer, f"reader{i}@example.com") for i in range(5)]
    for mail in mails:
        send(backend, mail)

    received = smtp_sink.wait_for(5)
    assert [r.data for r in received] == [m.data for m in mails]
    assert proxied_sink.connections == 1
    assert backend.connections_opened == 1


def test_451_is_transient_and_the_connection_survives(
    backend: SmtpBackend, composer: Composer, proxied_sink: TcpProxy, smtp_sink: SmtpSink
) -> None:
    smtp_sink.answer("bob@example.com", "451 4.7.1 greylisted, try again later", times=1)
    bob = mail_to(composer, "bob@example.com")

    with pytest.raises(DeliveryError) as caught:
        send(backend, bob)
    assert (caught.value.permanent, caught.value.code, caught.value.hard_bounce) == (False, 451, False)
    assert caught.value.enhanced_status == "4.7.1"

    send(backend, bob)  # the retry goes through, on the same connection
    assert [r.data for r in smtp_sink.wait_for(1)] == [bob.data]
    assert proxied_sink.connections == 1


def test_550_5_1_1_is_a_permanent_hard_bounce(backend: SmtpBackend, composer: Composer, smtp_sink: SmtpSink) -> None:
    smtp_sink.answer("gone@example.com", "550 5.1.1 <gone@example.com>: user unknown")
    with pytest.raises(DeliveryError) as caught:
        send(backend, mail_to(composer, "gone@example.com"))

    error = caught.value
    assert (error.permanent, error.code, error.hard_bounce, error.enhanced_status) == (True, 550, True, "5.1.1")
    assert "user unknown" in str(error)


def test_other_5xx_is_permanent_but_not_a_hard_bounce(
    backend: SmtpBackend, composer: Composer, smtp_sink: SmtpSink
) -> None:
    smtp_sink.answer("picky@example.com", "554 5.7.1 message refused by policy")
    with pytest.raises(DeliveryError) as caught:
        send(backend, mail_to(composer, "picky@example.com"))
    assert (caught.value.permanent, caught.value.hard_bounce) == (True, False)

    send(backend, mail_to(composer, "fine@example.com"))  # the connection is still usable
    assert [r.rcpt_tos for r in smtp_sink.wait_for(1)] == [["fine@example.com"]]


def test_a_connection_cut_by_the_server_is_replaced_once(
    backend: SmtpBackend, composer: Composer, proxied_sink: TcpProxy, smtp_sink: SmtpSink
) -> None:
    send(backend, mail_to(composer, "first@example.com"))
    proxied_sink.cut_all()  # the server restarted, or timed the idle connection out

    second = mail_to(composer, "second@example.com")
    send(backend, second)

    received = smtp_sink.wait_for(2)
    assert received[1].data == second.data
    assert proxied_sink.connections == 2 and backend.connections_opened == 2


def test_421_on_a_pooled_connection_reconnects(
    backend: SmtpBackend, composer: Composer, proxied_sink: TcpProxy, smtp_sink: SmtpSink
) -> None:
    send(backend, mail_to(composer, "first@example.com"))
    smtp_sink.answer("second@example.com", "421 4.4.2 idle too long, closing connection", times=1)

    send(backend, mail_to(composer, "second@example.com"))

    assert [r.rcpt_tos for r in smtp_sink.wait_for(2)][1] == ["second@example.com"]
    assert proxied_sink.connections == 2


def test_421_on_a_fresh_connection_is_transient(backend: SmtpBackend, composer: Composer, smtp_sink: SmtpSink) -> None:
    smtp_sink.answer("busy@example.com", "421 4.3.2 shutting down")
    with pytest.raises(DeliveryError) as caught:
        send(backend, mail_to(composer, "busy@example.com"))
    assert (caught.value.permanent, caught.value.code) == (False, 421)


def test_no_server_is_transient(composer: Composer) -> None:
    with socket.socket() as unused:  # a port that was free a moment ago: nothing listens on it
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    backend = SmtpBackend(host="127.0.0.1", port=port, timeout=5)
    with pytest.raises(DeliveryError) as caught:
        send(backend, mail_to(composer, "alice@example.com"))
    assert (caught.value.permanent, caught.value.code) == (False, None)
    assert "unavailable" in str(caught.value)


def test_a_server_that_never_answers_times_out_as_transient(composer: Composer) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts TCP, never says hello
        backend = SmtpBackend(host="127.0.0.1", port=silent.getsockname()[1], timeout=0.5)
        with pytest.raises(DeliveryError) as caught:
            send(backend, mail_to(composer, "alice@example.com"))
    assert caught.value.permanent is False


def test_control_characters_in_the_envelope_are_refused_before_talking_to_the_server(
    backend: SmtpBackend, proxied_sink: TcpProxy
) -> None:
    with pytest.raises(DeliveryError) as caught:
        backend.send("digest@papermail.test", "a@example.com\r\nRCPT TO:<b@example.com>", b"x")
    assert caught.value.permanent is True
    assert proxied_sink.connections == 0


def test_a_forked_worker_opens_its_own_connection_and_leaves_the_parents_alone(
    backend: SmtpBackend, composer: Composer, proxied_sink: TcpProxy, smtp_sink: SmtpSink
) -> None:
    send(backend, mail_to(composer, "parent1@example.com"))
    child_mail = mail_to(composer, "child@example.com")

    def child() -> None:  # what a Celery prefork child does with the backend it inherited
        send(backend, child_mail)
        os._exit(0 if backend.connections_opened == 2 else 1)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(timeout=30)
    assert process.exitcode == 0

    send(backend, mail_to(composer, "parent2@example.com"))  # the parent's socket was not touched
    assert sorted(r.rcpt_tos[0] for r in smtp_sink.wait_for(3)) == [
        "child@example.com",
        "parent1@example.com",
        "parent2@example.com",
    ]
    assert proxied_sink.connections == 2 and backend.connections_opened == 1


@pytest.mark.parametrize("data", [b"a\r\n.b\r\n..c\r\n", b".first\r\nlast", b"bare\n.lf\r.cr", b"", b".",
                                  b"\n.\n.\n", b"..\r\n...\r\n.", b"no dot line\r\n", "é\r\n.▲\r\n".encode()])
def test_dot_stuffing_matches_smtplib(data: bytes) -> None:
    expected = smtplib._quote_periods(data)  # type: ignore[attr-defined]
    expected += b"" if expected.endswith(b"\r\n") else b"\r\n"
    assert dot_stuffed(data) == expected + b".\r\n"


def test_lines_starting_with_a_dot_arrive_as_sent(backend: SmtpBackend, smtp_sink: SmtpSink) -> None:
    data = b"Subject: dots\r\nMessage-ID: <dots@papermail.test>\r\n\r\n.one\r\n..two\r\n.\r\nend\r\n"
    result = backend.send("digest@papermail.test", "ann@example.org", data)
    [received] = smtp_sink.wait_for(1)
    assert received.data == data
    assert result.message_id == "<dots@papermail.test>"
