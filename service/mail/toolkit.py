"""The mail toolkit: what a process builds once and reuses for every message it sends.

Digests, transactional mail and the admin's test digest all render with the same cached
MJML, compose and sign with the same Composer, and share one backend and send-rate limiter.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import Settings
from service.mail import Composer, MailBackend, get_backend
from service.mail.send_rate import RateLimiter, send_rate_limiter
from service.rendering import EmailRenderer, Sender


@dataclass
class DeliveryTools:
    """What a worker process builds once and reuses for every batch."""

    renderer: EmailRenderer
    composer: Composer
    backend: MailBackend
    limiter: RateLimiter
    sender: Sender

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryTools:
        return cls(
            renderer=EmailRenderer(cache_dir=settings.data_dir / "cache" / "mjml"),
            composer=Composer.from_settings(settings),
            backend=get_backend(settings),
            limiter=send_rate_limiter(settings),
            sender=Sender.from_settings(settings),
        )
