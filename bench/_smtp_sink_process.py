"""A counting SMTP sink in its own process, for bench/e2e.py (not a benchmark itself).

``python bench/_smtp_sink_process.py`` serves aiosmtpd on a free loopback port, keeps only
counts (messages, bytes, SMTP sessions), and talks to its parent over stdin/stdout, one line
each way:

    (first line out)    port <n>
    count            -> <messages> <bytes> <sessions>
    reset            -> 0 0 0
    wait <n> <secs>  -> <messages> <bytes> <sessions>   once <n> messages arrived, or at the timeout

It exits when stdin closes, so a dead parent never leaves it behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from aiosmtpd.smtp import SMTP, Envelope, Session


class Counter:
    """aiosmtpd handler: accept everything, remember how much."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.sessions = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages += 1
        self.bytes += len(envelope.original_content or b"")
        self._wake()
        return "250 Message accepted for delivery"

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


async def serve() -> None:
    loop = asyncio.get_running_loop()
    counter = Counter()
    # decode_data=False: the bytes are counted as sent, not re-decoded.
    server = await loop.create_server(
        lambda: SMTP(counter, decode_data=False, hostname="sink.localhost", ident="papermail bench sink"),
        host="127.0.0.1", port=0,
    )
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
    asyncio.run(serve())
