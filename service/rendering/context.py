"""Context pieces every email shares: who sends it, the footer, and URLs safe to put in a link."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from config.settings import Settings


@dataclass(frozen=True, slots=True)
class Sender:
    name: str  # display name, e.g. "papermail"
    postal_address: str  # bulk-sender rules want a physical address in every message

    @classmethod
    def from_settings(cls, settings: Settings) -> Sender:
        display, address = parseaddr(settings.mail_from)
        return cls(name=display or address or "papermail", postal_address=settings.postal_address)


@functools.lru_cache(maxsize=8192)
def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL, else None: feed data must never become a
    ``javascript:`` or ``data:`` link, whatever escaping does to its quotes."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c in url for c in "\r\n\t "):
        return None
    return url


def footer(sender: Sender, why: str, links: list[tuple[str, str]]) -> dict[str, Any]:
    """The context ``_base/footer.mjml`` and ``_base/body.txt`` read: (label, url) links."""
    return {
        "sender_name": sender.name,
        "postal_address": sender.postal_address,
        "why": why,
        "footer_links": [(label, url) for label, url in links if url],
    }
