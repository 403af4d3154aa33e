"""The recipients `papermail inbound` takes mail for: the bounce addresses (plain, or with a genuine
VERP token) at BOUNCE_DOMAIN, and the List-Unsubscribe mailto address at MAIL_FROM's domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from service.inbound.verp import BounceAddresses, mail_from_domain, split_bounce_address

if TYPE_CHECKING:
    from config.settings import Settings

# service.mail.message builds the mailto as unsubscribe@<MAIL_FROM's domain>.
UNSUBSCRIBE_LOCAL_PART = "unsubscribe"
Route = Literal["bounce", "unsubscribe", "forged", "foreign"]


@dataclass(frozen=True)
class InboundAddresses:
    bounces: BounceAddresses
    unsubscribe: str

    @classmethod
    def from_settings(cls, settings: Settings) -> InboundAddresses:
        return cls(BounceAddresses.from_settings(settings), f"{UNSUBSCRIBE_LOCAL_PART}@{mail_from_domain(settings)}")

    def route(self, address: str) -> Route:
        """What ADDRESS is to us: a bounce address, the unsubscribe address, a bounce address with a
        token we never made (forged, or made under another SECRET_KEY), or someone else's."""
        address = address.strip().strip("<>")
        if address.lower() == self.unsubscribe:
            return "unsubscribe"
        ours, token = split_bounce_address(address, self.bounces.domain)
        if not ours:
            return "foreign"
        if token is not None and self.bounces.read(address) is None:
            return "forged"
        return "bounce"

    def accepts(self, address: str) -> bool:
        return self.route(address) in ("bounce", "unsubscribe")

    def describe(self) -> str:
        return f"{self.bounces.plain}, bounces+TOKEN@{self.bounces.domain} and {self.unsubscribe}"
