"""The mail toolkit: what a process builds once and reuses for every message it sends.

Digests, transactional mail and the admin's test digest all render with the same cached
MJML, compose and sign with the same Composer, and share one backend and send-rate limiter.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import Settings
from service.mail import Composer, MailBackend, SmtpBackend, get_backend
from service.mail.outgoing import never
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
        backend = get_backend(settings)
        # The composer asks the SMTP relay's last EHLO whether a text part may go as 8bit.
        takes_8bit = backend.takes_8bit if isinstance(backend, SmtpBackend) and settings.smtp_8bitmime else never
        return cls(
            renderer=EmailRenderer(cache_dir=settings.data_dir / "cache" / "mjml"),
            composer=Composer.from_settings(settings, takes_8bit=takes_8bit),
            backend=backend,
            limiter=send_rate_limiter(settings),
            sender=Sender.from_settings(settings),
        )
