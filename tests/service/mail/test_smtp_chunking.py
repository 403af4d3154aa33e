"""SMTP CHUNKING (RFC 3030): towards a relay announcing it (and PIPELINING), a message goes as
``BDAT <size> LAST`` behind its envelope in one write, byte for byte as composed; refusals are
reported at their stage and leave the connection usable; a relay that does not know BDAT after
all gets DATA from then on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.settings import Settings
from service.mail import Composer, DeliveryError, OutgoingMail, SmtpBackend, Unsubscribe
from tests.service.mail.chunking_server import ChunkingServer

pytestmark = pytest.mark.integration

# Lines that start with a dot: DATA would double them; BDAT sends them as they are.
TEXT = "Two papers.\n.\n..two dots\n.hidden\nThe end.\n"


@pytest.fixture
def server() -> Iterator[ChunkingServer]:
    running = ChunkingServer().start()
    yield running
    running.stop()


@pytest.fixture
def backend(server: ChunkingServer) -> Iterator[SmtpBackend]:
    smtp = SmtpBackend(host="127.0.0.1", port=server.port, timeout=10)
    yield smtp
    smtp.close()


def mail_to(composer: Composer, to: str, text: str = TEXT) -> OutgoingMail:
    return composer.compose(to_address=to, subject="Two papers", text=text, html="<p>Two papers.</p>",
                            message_key=to, unsubscribe=Unsubscribe("https://papermail.test/unsubscribe/tok", "tok"))


def test_a_message_goes_as_one_bdat_chunk_behind_its_envelope_in_one_write(
    backend: SmtpBackend, server: ChunkingServer, composer: Composer, writes: list[bytes]
) -> None:
    backend.send("bounce@papermail.test", "x@example.org", b"warm-up: the connection opens\r\n")
    writes.clear()
    mail = mail_to(composer, "alice@example.org")
    result = backend.send(mail.envelope_from, mail.to, mail.data)
    assert writes == [
        f"MAIL FROM:<{mail.envelope_from}>\r\nRCPT TO:<alice@example.org>\r\nBDAT {len(mail.data)} LAST\r\n".encode()
        + mail.data
    ]
    received = server.received[-1]
    assert (received.verb, received.to, received.data) == ("BDAT", "alice@example.org", mail.data)
    assert b"\r\n.\r\n..two dots\r\n.hidden\r\n" in received.data  # not dot-stuffed
    assert result.reply == "2.0.0 queued as B1" and result.message_id == mail.message_id


def test_an_8bit_message_is_announced_as_8bitmime_on_mail_from(
    backend: SmtpBackend, server: ChunkingServer, mail_settings: Settings
) -> None:
    backend.send("bounce@papermail.test", "x@example.org", b"warm-up\r\n")  # the relay's 8BITMIME is known
    eight = Composer.from_settings(mail_settings, takes_8bit=backend.takes_8bit)
    mail = mail_to(eight, "alice@example.org", text="Über Qubits ▲\n.\n")
    assert not mail.data.isascii()
    backend.send(mail.envelope_from, mail.to, mail.data)
    received = server.received[-1]
    assert received.mail_options == ["BODY=8BITMIME"] and received.data == mail.data


def test_a_refused_recipient_is_a_hard_bounce_and_the_next_message_goes_on_the_same_connection(
    backend: SmtpBackend, server: ChunkingServer, composer: Composer
) -> None:
    server.rules.rcpt["gone@example.org"] = b"550 5.1.1 no such user"
    gone, bob = mail_to(composer, "gone@example.org"), mail_to(composer, "bob@example.org")
    with pytest.raises(DeliveryError) as refused:
        backend.send(gone.envelope_from, gone.to, gone.data)
    assert refused.value.permanent and refused.value.hard_bounce and "RCPT TO" in str(refused.value)
    backend.send(bob.envelope_from, bob.to, bob.data)
    assert [(r.to, r.data) for r in server.received] == [("bob@example.org", bob.data)]
    assert backend.connections_opened == 1


def test_a_refused_message_is_permanent_at_bdat_and_not_a_bounce(
    backend: SmtpBackend, server: ChunkingServer, composer: Composer
) -> None:
    server.rules.content["spam@example.org"] = b"554 5.7.1 content refused"
    mail = mail_to(composer, "spam@example.org")
    with pytest.raises(DeliveryError) as refused:
        backend.send(mail.envelope_from, mail.to, mail.data)
    assert refused.value.permanent and not refused.value.hard_bounce and "BDAT" in str(refused.value)
    assert refused.value.code == 554 and server.received == []


def test_a_temporary_refusal_at_bdat_is_transient(backend: SmtpBackend, server: ChunkingServer,
                                                  composer: Composer) -> None:
    server.rules.content["later@example.org"] = b"451 4.3.0 try again later"
    mail = mail_to(composer, "later@example.org")
    with pytest.raises(DeliveryError) as refused:
        backend.send(mail.envelope_from, mail.to, mail.data)
    assert not refused.value.permanent and refused.value.code == 451


def test_a_relay_that_does_not_know_bdat_after_all_gets_data_from_then_on(
    backend: SmtpBackend, server: ChunkingServer, composer: Composer
) -> None:
    server.rules.bdat_unknown = True
    mail = mail_to(composer, "alice@example.org")
    # the dialogue is dropped (nothing was delivered) and the same message sent at once with DATA
    backend.send(mail.envelope_from, mail.to, mail.data)
    [received] = server.received
    assert (received.verb, received.data) == ("DATA", mail.data)
    assert backend.connections_opened == 2
    backend.send(mail.envelope_from, mail.to, mail.data)  # and DATA from then on, on that connection
    assert [r.verb for r in server.received] == ["DATA", "DATA"] and backend.connections_opened == 2
