"""A small ESMTP server announcing PIPELINING, 8BITMIME and CHUNKING (RFC 3030), for the BDAT
tests: aiosmtpd has no BDAT. It reads each BDAT chunk by its size, as RFC 3030 asks, keeps every
message's bytes exactly as received, and refuses what its rules say (by recipient)."""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class Received:
    envelope_from: str
    mail_options: list[str]
    to: str
    data: bytes
    verb: str  # "BDAT" or "DATA"


@dataclass
class Rules:
    """How the server answers: replies to RCPT TO and to the message, by recipient address; and
    whether it answers BDAT as an unknown command (a server that announced CHUNKING wrongly)."""

    rcpt: dict[str, bytes] = field(default_factory=dict)
    content: dict[str, bytes] = field(default_factory=dict)
    bdat_unknown: bool = False


class _Handler(socketserver.StreamRequestHandler):
    server: ChunkingServer

    def reply(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def handle(self) -> None:
        self.reply(b"220 chunking.test ESMTP")
        sender: tuple[str, list[str]] | None = None
        to: str | None = None
        while line := self.rfile.readline():
            command = line.rstrip(b"\r\n").decode("ascii")
            verb = command.split(" ", 1)[0].upper()
            rules = self.server.rules
            if verb == "EHLO":
                self.wfile.write(b"250-chunking.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n")
            elif verb == "MAIL":
                address, _, options = command[len("MAIL FROM:"):].partition(" ")
                sender, to = (address.strip("<>"), options.split()), None
                self.reply(b"250 2.1.0 ok")
            elif verb == "RCPT":
                address = command[len("RCPT TO:"):].strip("<>")
                refusal = rules.rcpt.get(address)
                to = None if refusal else address
                self.reply(refusal or b"250 2.1.5 ok")
            elif verb == "BDAT":
                _, size, *last = command.split()
                data = self.rfile.read(int(size))  # the chunk is read whatever the answer
                if rules.bdat_unknown:
                    self.reply(b"502 5.5.1 command not implemented")
                elif sender is None or to is None:
                    self.reply(b"554 5.5.1 no valid recipients")
                elif refusal := rules.content.get(to):
                    self.reply(refusal)
                else:
                    assert last == ["LAST"], "these tests send the message as one chunk"
                    self.server.received.append(Received(sender[0], sender[1], to, data, "BDAT"))
                    self.reply(b"250 2.0.0 queued as B1")
                sender, to = None, None
            elif verb == "DATA":
                if sender is None or to is None:
                    self.reply(b"554 5.5.1 no valid recipients")
                    continue
                self.reply(b"354 go ahead")
                lines = []
                while (body_line := self.rfile.readline()) != b".\r\n":
                    lines.append(body_line[1:] if body_line.startswith(b".") else body_line)
                self.server.received.append(Received(sender[0], sender[1], to, b"".join(lines), "DATA"))
                self.reply(b"250 2.0.0 queued as D1")
                sender, to = None, None
            elif verb == "RSET":
                sender, to = None, None
                self.reply(b"250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply(b"221 2.0.0 bye")
                return
            else:
                self.reply(b"500 5.5.2 unknown command")


class ChunkingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.rules = Rules()
        self.received: list[Received] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> ChunkingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
