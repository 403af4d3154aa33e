"""A counting SMTP sink in its own process, for bench/e2e.py (not a benchmark itself).

``python bench/_smtp_sink_process.py [lean|aiosmtpd]`` serves SMTP on a free loopback port,
keeps only counts (messages, bytes, SMTP sessions), and talks to its parent over stdin/stdout,
one line each way:

    (first line out)    port <n>
    count            -> <messages> <bytes> <sessions>
    reset            -> 0 0 0
    wait <n> <secs>  -> <messages> <bytes> <sessions>   once <n> messages arrived, or at the timeout

It exits when stdin closes, so a dead parent never leaves it behind.

Two servers speak the same dialogue. ``lean`` (the default) is an asyncio protocol that finds
the end of DATA with one search over each received chunk, the way an MTA written in C costs
next to nothing per message, and takes BDAT chunks (CHUNKING, announced as Postfix does;
``lean-data`` is the same server without it); ``aiosmtpd`` is the tests' server, which reads DATA line by line
in Python and costs more CPU per message than the client sending it (so it, not the sender,
sets the pace of both the bare loop and the pipeline on a small machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable

from aiosmtpd.smtp import SMTP, Envelope, Session


class Counter:
    """What both servers report: messages, bytes and sessions, and waiters for a count."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.sessions = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def session(self) -> None:
        self.sessions += 1

    def message(self, size: int) -> None:
        self.messages += 1
        self.bytes += size
        if self._waiters:
            self._wake()

    def reset(self) -> None:
        self.messages = self.bytes = self.sessions = 0

    def line(self) -> str:
        return f"{self.messages} {self.bytes} {self.sessions}"

    def _wake(self) -> None:
        still = []
        for target, future in self._waiters:
            if self.messages >= target and not future.done():
                future.set_result(None)
            elif not future.done():
                still.append((target, future))
        self._waiters = still

    async def wait(self, target: int, timeout: float) -> None:
        if self.messages >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        with contextlib.suppress(TimeoutError):  # the caller reads the count either way
            await asyncio.wait_for(future, timeout)


class AiosmtpdHandler:
    """aiosmtpd handler: accept everything, count it."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        self.counter.session()
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.counter.message(len(envelope.original_content or b""))
        return "250 Message accepted for delivery"


# PIPELINING (RFC 2920), as Postfix and every large relay announce it: commands are read from
# the buffer one after another, so a pipelined envelope needs nothing more. ``lean`` also announces
# CHUNKING (RFC 3030, BDAT), as Postfix (since 3.0) and Exim (since 4.88) do by default;
# ``lean-data`` does not, for a relay that takes DATA only.
EHLO_DATA = (b"250-sink.localhost\r\n250-PIPELINING\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
             b"250 HELP\r\n")
EHLO_REPLY = EHLO_DATA.replace(b"250 HELP", b"250-CHUNKING\r\n250 HELP")
END_OF_DATA = b"\r\n.\r\n"


class SmtpLines(asyncio.Protocol):
    """What a client sends, split into command lines (``command``) and DATA bodies (``end_of_data``,
    with the body as ``self.buffer[:end]``); DATA ends at CRLF.CRLF, found by one search per chunk.
    The sinks here and bench/_fault_sink.py answer differently and share this."""

    transport: asyncio.Transport

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.in_data = False
        self.scanned = 0  # how far the buffer was already searched for the end of DATA
        self.chunk_left = 0  # octets of a BDAT chunk still to come
        self.chunk_last = False
        self.chunked = 0  # octets of this message's chunks so far

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.buffer and not self.transport.is_closing():
            if self.chunk_left:
                taken = min(self.chunk_left, len(self.buffer))
                del self.buffer[:taken]
                self.chunk_left -= taken
                self.chunked += taken
                if not self.chunk_left:
                    self.end_of_chunk()
                continue
            if self.in_data:
                end = self.buffer.find(END_OF_DATA, max(self.scanned - 4, 0))
                if end < 0:
                    self.scanned = len(self.buffer)
                    return
                self.end_of_data(end)  # the leading CRLF stands for the one ending DATA
                del self.buffer[:end + len(END_OF_DATA)]
                self.in_data, self.scanned = False, 0
                continue
            newline = self.buffer.find(b"\r\n")
            if newline < 0:
                return
            line = bytes(self.buffer[:newline])
            del self.buffer[:newline + 2]
            self.command(line)

    def start_data(self) -> None:
        self.in_data = True
        self.buffer[:0] = b"\r\n"  # so an empty message's lone "." line is found too
        self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")

    def start_chunk(self, line: bytes) -> None:
        """``BDAT <size> [LAST]``: the next SIZE octets are the message's, as they are."""
        words = line.split()
        if len(words) not in (2, 3) or not words[1].isdigit() or (len(words) == 3 and words[2].upper() != b"LAST"):
            self.transport.write(b"501 5.5.4 Syntax: BDAT <size> [LAST]\r\n")
            return
        self.chunk_left, self.chunk_last = int(words[1]), len(words) == 3
        if not self.chunk_left:
            self.end_of_chunk()

    def end_of_chunk(self) -> None:
        if not self.chunk_last:
            self.transport.write(b"250 2.0.0 %d octets received\r\n" % self.chunked)
            return
        size, self.chunked = self.chunked, 0
        self.end_of_message(size)

    def command(self, line: bytes) -> None:
        raise NotImplementedError

    def end_of_data(self, end: int) -> None:
        raise NotImplementedError

    def end_of_message(self, size: int) -> None:
        """A message whose last BDAT chunk came (only a server that announces CHUNKING gets one)."""
        raise NotImplementedError


class LeanSmtp(SmtpLines):
    """Enough of RFC 5321 for a client that sends mail: EHLO/HELO, MAIL, RCPT, DATA, BDAT (when
    CHUNKING), RSET, NOOP, QUIT; every message accepted."""

    def __init__(self, counter: Counter, chunking: bool = True) -> None:
        super().__init__()
        self.counter = counter
        self.ehlo = EHLO_REPLY if chunking else EHLO_DATA
        self.chunking = chunking

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(b"220 sink.localhost ESMTP papermail bench sink\r\n")

    def end_of_data(self, end: int) -> None:
        self.end_of_message(end)

    def end_of_message(self, size: int) -> None:
        self.counter.message(size)
        self.transport.write(b"250 2.0.0 Message accepted for delivery\r\n")

    def command(self, line: bytes) -> None:
        verb = line[:4].upper()
        if verb == b"EHLO":
            self.counter.session()
            self.transport.write(self.ehlo)
        elif verb == b"HELO":
            self.counter.session()
            self.transport.write(b"250 sink.localhost\r\n")
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            self.transport.write(b"250 2.0.0 OK\r\n")
        elif verb == b"DATA":
            self.start_data()
        elif verb == b"BDAT" and self.chunking:
            self.start_chunk(line)
        elif verb == b"QUIT":
            self.transport.write(b"221 2.0.0 Bye\r\n")
            self.transport.close()
        else:
            self.transport.write(b"500 5.5.2 Command not recognized\r\n")


def server_factory(kind: str, counter: Counter) -> Callable[[], asyncio.Protocol]:
    if kind == "lean":
        return lambda: LeanSmtp(counter)
    if kind == "lean-data":
        return lambda: LeanSmtp(counter, chunking=False)
    if kind == "aiosmtpd":
        handler = AiosmtpdHandler(counter)
        # decode_data=False: the bytes are counted as sent, not re-decoded.
        return lambda: SMTP(handler, decode_data=False, hostname="sink.localhost", ident="papermail bench sink")
    raise SystemExit(f"unknown sink {kind!r}: lean, lean-data or aiosmtpd")


async def serve(kind: str) -> None:
    loop = asyncio.get_running_loop()
    counter = Counter()
    server = await loop.create_server(server_factory(kind, counter), host="127.0.0.1", port=0)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = line.decode().split()
        if not command:
            continue
        if command[0] == "reset":
            counter.reset()
        elif command[0] == "wait":
            await counter.wait(int(command[1]), float(command[2]))
        print(counter.line(), flush=True)
    server.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1] if len(sys.argv) > 1 else "lean"))
