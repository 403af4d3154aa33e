"""An SMTP sink for bench/faults.py (not a benchmark itself): an asyncio server on a thread of
the bench, on one loopback port for its whole life, that keeps who received what and when, and
can misbehave the way relays do:

- ``grey-*`` recipients are greylisted: 451 at their first RCPT, accepted from the second on;
- ``bounce-*`` recipients do not exist: 550 5.1.1 every time (nothing is ever accepted for them);
- ``down()`` takes the relay down until ``up()``: every open session is cut, and every new
  connection is closed at once, before the greeting (each counted, with its time).

Enough of RFC 5321 for a client that sends mail; DATA ends at CRLF.CRLF, found by one search
per chunk (bench/_smtp_sink_process.py's SmtpLines, shared with the lean server).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field

from bench._smtp_sink_process import SmtpLines

_MESSAGE_ID = re.compile(rb"^message-id:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Accepted:
    rcpt: str
    message_id: str
    at: float  # time.monotonic()


@dataclass
class Record:
    accepted: list[Accepted] = field(default_factory=list)
    refused_connections: list[float] = field(default_factory=list)  # while down
    greylisted: set[str] = field(default_factory=set)
    rcpt_to_bounces: int = 0


class _Session(SmtpLines):
    def __init__(self, sink: FaultSink) -> None:
        super().__init__()
        self.sink = sink
        self.rcpts: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.sink.is_down:
            self.sink.record.refused_connections.append(time.monotonic())
            self.transport.abort()
            return
        self.sink.sessions.add(self)
        self.transport.write(b"220 sink.localhost ESMTP papermail fault sink\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        self.sink.sessions.discard(self)

    def end_of_data(self, end: int) -> None:
        self.message(bytes(self.buffer[:end]))

    def message(self, data: bytes) -> None:
        found = _MESSAGE_ID.search(data[:8192])
        message_id = found.group(1).decode() if found else ""
        now = time.monotonic()
        for rcpt in self.rcpts:
            self.sink.record.accepted.append(Accepted(rcpt, message_id, now))
        self.rcpts = []
        self.transport.write(b"250 2.0.0 Message accepted for delivery\r\n")

    def command(self, line: bytes) -> None:
        verb = line[:4].upper()
        if verb == b"EHLO":
            self.transport.write(b"250-sink.localhost\r\n250-8BITMIME\r\n250 SIZE 33554432\r\n")
        elif verb == b"HELO":
            self.transport.write(b"250 sink.localhost\r\n")
        elif verb == b"MAIL":
            self.rcpts = []
            self.transport.write(b"250 2.1.0 OK\r\n")
        elif verb == b"RCPT":
            self.transport.write(self.rcpt(line.split(b":", 1)[-1].strip().strip(b"<>").decode()))
        elif verb == b"DATA":
            if not self.rcpts:
                self.transport.write(b"554 5.5.1 No valid recipients\r\n")
                return
            self.start_data()
        elif verb in (b"RSET", b"NOOP"):
            self.rcpts = []
            self.transport.write(b"250 2.0.0 OK\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 2.0.0 Bye\r\n")
            self.transport.close()
        else:
            self.transport.write(b"500 5.5.2 Command not recognized\r\n")

    def rcpt(self, address: str) -> bytes:
        local = address.split("@", 1)[0].lower()
        record = self.sink.record
        if local.startswith("bounce-"):
            record.rcpt_to_bounces += 1
            return b"550 5.1.1 No such user here\r\n"
        if local.startswith("grey-") and address not in record.greylisted:
            record.greylisted.add(address)
            return b"451 4.7.1 Greylisted, try again later\r\n"
        self.rcpts.append(address)
        return b"250 2.1.5 OK\r\n"


class FaultSink:
    def __init__(self) -> None:
        self.record = Record()
        self.is_down = False
        self.sessions: set[_Session] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-sink", daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            self._loop.create_server(lambda: _Session(self), host="127.0.0.1", port=0))
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def start(self) -> FaultSink:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _call(self, function: object) -> None:
        done = threading.Event()

        def run() -> None:
            function()  # type: ignore[operator]
            done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    def down(self) -> None:
        def cut() -> None:
            self.is_down = True
            for session in list(self.sessions):
                session.transport.abort()

        self._call(cut)

    def up(self) -> None:
        def restore() -> None:
            self.is_down = False

        self._call(restore)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
