"""What one inbound message means: the record ``classify`` makes and ``service.actions.inbound`` applies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["hard", "soft", "complaint", "unsubscribe", "unknown"]
Source = Literal["dsn", "arf", "bounce", "mailto", "none"]
# How the message names its subscriber. The first three are signed by us and cannot be forged;
# the others are addresses read from the report, believed only when nothing signed is there.
Via = Literal["verp", "list-unsubscribe", "mailto", "final-recipient", "original-rcpt-to", "bounce-text"]
SIGNED_VIA: frozenset[str] = frozenset({"verp", "list-unsubscribe", "mailto"})


@dataclass(frozen=True)
class About:
    """Who the message is about: exactly one of delivery_id, subscriber_id, address is set."""

    via: Via
    delivery_id: int | None = None
    subscriber_id: int | None = None
    # Of an unsubscribe token: the link version it was made for (a newer one revokes it).
    token_version: int | None = None
    address: str | None = None

    @property
    def signed(self) -> bool:
        return self.via in SIGNED_VIA


@dataclass(frozen=True)
class InboundOutcome:
    kind: Kind
    source: Source
    reason: str  # the status and diagnostic, or why the message changes nothing
    about: About | None = None
