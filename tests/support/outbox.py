"""Waiting for mail that another process (a Celery worker) writes to the outbox folder."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.message import EmailMessage

from config.settings import Settings
from service.mail import list_outbox


def wait_for_mail(
    settings: Settings, wanted: Callable[[list[EmailMessage]], bool], timeout: float = 60.0
) -> list[EmailMessage]:
    """Poll the outbox until WANTED holds for its messages (oldest first); the deadline bounds it.
    Polling, since the writer is another process and the folder sends no notification."""
    deadline = time.monotonic() + timeout
    while True:
        messages = [entry.message() for entry in list_outbox(settings.outbox_dir)]
        if wanted(messages):
            return messages
        if time.monotonic() > deadline:
            raise TimeoutError(f"outbox has {len(messages)} messages, none of them the one wanted")
        time.sleep(0.1)
