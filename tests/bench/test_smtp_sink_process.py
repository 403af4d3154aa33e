"""The bench's SMTP sink: both servers speak enough SMTP for smtplib and count what they accept."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SINK = Path(__file__).resolve().parents[2] / "bench" / "_smtp_sink_process.py"
MESSAGES = [
    b"Subject: dots\r\n\r\n.a line that starts with a dot\r\n..and two\r\n.\r\nend\r\n",
    b"Subject: empty body\r\n\r\n",
    b"Subject: long\r\n\r\n" + b"<p>a line of a digest, as long as most of them</p>\r\n" * 2000,
]


class Sink:
    def __init__(self, kind: str) -> None:
        self.proc = subprocess.Popen([sys.executable, str(SINK), kind], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.out, self.inp = self.proc.stdout, self.proc.stdin
        self.port = int(self.out.readline().split()[1])

    def ask(self, command: str) -> list[int]:
        self.inp.write(command + "\n")
        self.inp.flush()
        return [int(n) for n in self.out.readline().split()]


@pytest.fixture(params=["lean", "aiosmtpd"])
def sink(request: pytest.FixtureRequest) -> Iterator[Sink]:
    sink = Sink(request.param)
    yield sink
    sink.inp.close()  # the sink exits when its stdin closes
    assert sink.proc.wait(10) == 0


def test_it_accepts_and_counts_every_message(sink: Sink) -> None:
    with smtplib.SMTP("127.0.0.1", sink.port) as client:
        assert client.ehlo()[0] == 250 and client.has_extn("8bitmime")
        for message in MESSAGES:
            assert client.sendmail("bench@papermail.example", ["reader@example.org"], message) == {}
        assert client.rset()[0] == 250
        assert client.noop()[0] == 250
    messages, size, sessions = sink.ask("wait 3 10")
    assert (messages, sessions) == (3, 1)
    assert size >= sum(len(m) for m in MESSAGES) - 2 * len(MESSAGES)  # CRLF before the dot may be counted or not
    assert sink.ask("reset") == [0, 0, 0]


def test_wait_returns_the_count_at_the_timeout(sink: Sink) -> None:
    assert sink.ask("wait 1 0.05") == [0, 0, 0]


def test_lean_refuses_an_unknown_command() -> None:
    sink = Sink("lean")
    try:
        with smtplib.SMTP("127.0.0.1", sink.port) as client:
            assert client.docmd("VRFY", "someone")[0] == 500
            assert client.docmd("QUIT")[0] == 221
    except smtplib.SMTPServerDisconnected:
        pass  # the with-block's own QUIT finds the connection closed
    finally:
        sink.inp.close()
        sink.proc.wait(10)


def lean(kind: str) -> Iterator[Sink]:
    sink = Sink(kind)
    yield sink
    sink.inp.close()
    assert sink.proc.wait(10) == 0


@pytest.fixture
def lean_sink() -> Iterator[Sink]:
    yield from lean("lean")


def test_lean_takes_bdat_chunks_pipelined_behind_the_envelope(lean_sink: Sink) -> None:
    body = MESSAGES[2]
    with socket.create_connection(("127.0.0.1", lean_sink.port)) as conn:
        replies = conn.makefile("rb")
        assert replies.readline().startswith(b"220")
        conn.sendall(b"EHLO bench\r\n")
        ehlo = [replies.readline() for _ in range(7)]
        assert b"250-CHUNKING\r\n" in ehlo and ehlo[-1].startswith(b"250 ")
        # two chunks: the first is acknowledged with its size, the LAST one accepts the message
        conn.sendall(b"MAIL FROM:<bench@papermail.example>\r\nRCPT TO:<reader@example.org>\r\n"
                     + b"BDAT %d\r\n" % 100 + body[:100] + b"BDAT %d LAST\r\n" % (len(body) - 100) + body[100:])
        got = [replies.readline() for _ in range(4)]
        assert got[:2] == [b"250 2.0.0 OK\r\n"] * 2
        assert got[2] == b"250 2.0.0 100 octets received\r\n" and got[3].startswith(b"250 2.0.0 Message accepted")
        conn.sendall(b"BDAT 0 LAST\r\nBDAT x\r\n")  # an empty message; a size that is no number
        assert replies.readline().startswith(b"250 2.0.0 Message accepted")
        assert replies.readline().startswith(b"501")
    assert lean_sink.ask("wait 2 10")[:2] == [2, len(body)]


def test_lean_data_announces_no_chunking_and_refuses_bdat() -> None:
    for sink in lean("lean-data"):
        with smtplib.SMTP("127.0.0.1", sink.port) as client:
            assert client.ehlo()[0] == 250 and not client.has_extn("chunking")
            assert client.docmd("BDAT", "5 LAST")[0] == 500
