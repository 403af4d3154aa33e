"""Handing a transactional mail over once its state is committed.

Normally it goes on the ``transactional`` queue (``workers.tasks.send_transactional``), which a
worker consumes within seconds. With MAIL_BACKEND=memory the outbox is this process's memory,
so the web sends it itself (tests and demos without a worker).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from config.settings import Settings
from service.subscribers.lifecycle import Mail
from service.task_queue import TaskQueue

if TYPE_CHECKING:
    from service.mail.toolkit import DeliveryTools

log = logging.getLogger(__name__)


def celery_dispatch(settings: Settings) -> Callable[[Mail], None]:
    queue = TaskQueue(settings)  # its Celery app is built on first use: the home page never needs it

    def dispatch(mail: Mail) -> None:
        queue.send_transactional(mail.kind, mail.subscriber_id)

    return dispatch


def inline_dispatch(settings: Settings) -> Callable[[Mail], None]:
    @functools.cache
    def tools() -> DeliveryTools:
        from service.mail.toolkit import DeliveryTools

        return DeliveryTools.from_settings(settings)

    def dispatch(mail: Mail) -> None:
        from service.subscribers.transactional import send_mail

        log.info("%s", send_mail(settings, mail.kind, mail.subscriber_id, tools()))

    return dispatch


def default_dispatch(settings: Settings) -> Callable[[Mail], None]:
    return inline_dispatch(settings) if settings.mail_backend == "memory" else celery_dispatch(settings)
