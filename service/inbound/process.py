"""One inbound message, read and applied in one transaction: what the SMTP/LMTP receiver and the
IMAP poller both call. A database error propagates (the receiver answers 451, the poller leaves
the message unseen), so a message is never lost to an outage."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from config.settings import Settings
from service.actions.inbound import InboundResult, apply_inbound
from service.inbound.classify import Verifier, classify
from service.storage.db import session_scope

log = logging.getLogger("papermail.inbound")


class InboundProcessor:
    """Built once per process (the addresses and token keys), used for every message."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.verifier = Verifier.from_settings(settings)

    def process(self, data: bytes, recipients: Sequence[str] = (), *, channel: str,
                now: datetime | None = None) -> InboundResult:
        outcome = classify(data, recipients, self.verifier)
        with session_scope(self.settings) as session:
            result = apply_inbound(session, outcome, channel=channel, now=now or datetime.now(UTC),
                                   soft_limit=self.settings.soft_bounce_limit)
        log.info("inbound %s: %s", channel, result.line())
        return result
