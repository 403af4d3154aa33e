"""Outgoing mail: build a message, sign it, hand its bytes to the backend MAIL_BACKEND names.

Typical use in a worker::

    composer = Composer.from_settings(settings)          # once per process
    backend = get_backend(settings)                      # SMTP: one shared connection per process
    mail = composer.compose(to_address=..., subject=..., text=..., html=...,
                            message_key=f"{subscriber_id}/{period}", delivery_id=delivery.id,
                            unsubscribe=Unsubscribe(f"{settings.base_url}/unsubscribe/{token}", token))
    result = backend.send(mail.envelope_from, mail.to, mail.data)   # or DeliveryError
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from service.mail.console import ConsoleBackend
from service.mail.memory import MemoryBackend, SentMail, clear_memory_outbox, fail_recipient, memory_outbox
from service.mail.message import (
    MessageError,
    SenderIdentity,
    Unsubscribe,
    make_message_id,
    message_id_of,
    validate_recipient,
)
from service.mail.outbox import OutboxBackend, OutboxEntry, list_outbox, open_outbox_entry
from service.mail.outgoing import Composer, OutgoingMail
from service.mail.protocol import DeliveryError, MailBackend, SendResult
from service.mail.signing import DkimKeyError, DkimSigner, wire_bytes
from service.mail.smtp import SmtpBackend

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = [
    "Composer",
    "ConsoleBackend",
    "DeliveryError",
    "DkimKeyError",
    "DkimSigner",
    "MailBackend",
    "MemoryBackend",
    "MessageError",
    "OutboxBackend",
    "OutboxEntry",
    "OutgoingMail",
    "SendResult",
    "SenderIdentity",
    "SentMail",
    "SmtpBackend",
    "Unsubscribe",
    "clear_memory_outbox",
    "close_shared_backends",
    "fail_recipient",
    "get_backend",
    "list_outbox",
    "make_message_id",
    "memory_outbox",
    "message_id_of",
    "open_outbox_entry",
    "validate_recipient",
    "wire_bytes",
]

_shared_lock = threading.Lock()
_shared_smtp: dict[tuple[object, ...], SmtpBackend] = {}


def _smtp_backend(settings: Settings) -> SmtpBackend:
    # Every caller in a process with the same SMTP settings gets the same backend, hence the
    # same connection: opening one per message would cost a TCP (+TLS, +AUTH) handshake each.
    key = (
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_security,
        settings.smtp_username,
        settings.smtp_password,
        settings.smtp_timeout_seconds,
    )
    with _shared_lock:
        backend = _shared_smtp.get(key)
        if backend is None:
            backend = _shared_smtp[key] = SmtpBackend.from_settings(settings)
        return backend


def get_backend(settings: Settings) -> MailBackend:
    """The backend MAIL_BACKEND selects: outbox, smtp, console or memory."""
    kind = settings.mail_backend
    if kind == "outbox":
        return OutboxBackend(settings.outbox_dir)
    if kind == "smtp":
        return _smtp_backend(settings)
    if kind == "console":
        return ConsoleBackend()
    if kind == "memory":
        return MemoryBackend()
    raise ValueError(f"unknown mail backend {kind!r}")


def close_shared_backends() -> None:
    """Close this process's shared SMTP connections (worker shutdown, tests)."""
    with _shared_lock:
        backends = list(_shared_smtp.values())
        _shared_smtp.clear()
    for backend in backends:
        backend.close()
