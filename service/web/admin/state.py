"""What an admin page reads from its request: the app's admin state, the signed-in admin, the
time."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from config.settings import Settings
from service.mail.toolkit import DeliveryTools
from service.subscribers.lifecycle import Mail
from service.task_queue import TaskQueue
from service.web.admin.auth import Admin, Sessions


@dataclass
class AdminState:
    """Built once by ``install``; routes reach it as ``request.app.state.admin``."""

    settings: Settings
    sessions: Sessions
    dispatch: Callable[[Mail], None]
    queue: TaskQueue
    cache: dict[str, tuple[float, Any]] = field(default_factory=dict)

    @functools.cached_property
    def tools(self) -> DeliveryTools:
        """Renderer, composer and mail backend for test digests: built on first use (the MJML
        compile is not paid by an admin who never sends one)."""
        return DeliveryTools.from_settings(self.settings)


def state(request: Request) -> AdminState:
    admin_state: AdminState = request.app.state.admin
    return admin_state


def settings_of(request: Request) -> Settings:
    return state(request).settings


def admin_of(request: Request) -> Admin:
    admin: Admin = request.state.admin
    return admin


def now() -> datetime:
    return datetime.now(UTC)
