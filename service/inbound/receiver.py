"""The SMTP (or LMTP) receiver of `papermail inbound`: aiosmtpd on one asyncio loop.

It takes mail only for our bounce and unsubscribe addresses (``InboundAddresses``) and refuses
every other recipient at RCPT, a forged VERP token included, so it is no open relay and a stranger's
mail is never read. A message is answered 250 only after its effect is committed; a database
error answers 451, and the sending MTA tries again later.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from config.settings import Settings
from service.actions.inbound import InboundResult
from service.inbound.addresses import InboundAddresses
from service.inbound.process import InboundProcessor

log = logging.getLogger("papermail.inbound")


class InboundHandler:
    """aiosmtpd hooks; the database work runs in a thread, off the event loop."""

    def __init__(self, processor: InboundProcessor, addresses: InboundAddresses, *, lmtp: bool = False) -> None:
        self.processor = processor
        self.addresses = addresses
        self.channel = "lmtp" if lmtp else "smtp"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if not self.addresses.accepts(address):
            # The address is not echoed: it came from the client.
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(None, self._process, data, recipients)
        except Exception:
            log.exception("inbound %s: message not processed; asked the sender to retry", self.channel)
            reply = "451 4.3.0 temporary failure, try again later"
        else:
            reply = f"250 2.0.0 OK {result.kind}: {result.result}"
        # LMTP answers DATA once per recipient (RFC 2033 4.2); the message was read once for all.
        return "\r\n".join([reply] * len(recipients)) if self.channel == "lmtp" else reply

    def _process(self, data: bytes, recipients: list[str]) -> InboundResult:
        return self.processor.process(data, recipients, channel=self.channel)


def protocol_factory(settings: Settings, *, lmtp: bool) -> Callable[[], SMTP]:
    handler = InboundHandler(InboundProcessor(settings), InboundAddresses.from_settings(settings), lmtp=lmtp)
    server_class = LMTP if lmtp else SMTP
    hostname = socket.getfqdn()  # once: aiosmtpd would look it up for every connection

    def factory() -> SMTP:
        return server_class(
            handler,
            data_size_limit=settings.inbound_max_message_bytes,
            decode_data=False,  # the exact bytes: flufl.bounce and the report parser read them
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="papermail inbound",
        )

    return factory


async def serve(settings: Settings, host: str, port: int, *, lmtp: bool = False,
                on_ready: Callable[[str, int], None] | None = None) -> None:
    """Listen on HOST:PORT (0: a free port) until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol_factory(settings, lmtp=lmtp), host=host, port=port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bound = server.sockets[0].getsockname()
    if on_ready is not None:
        on_ready(str(bound[0]), int(bound[1]))
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
