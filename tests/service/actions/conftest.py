"""No DNS in tests: a source's host resolves to nothing (accepted, as an unresolvable host is)
unless a test hands its own resolver to the source actions."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.actions.sources.resolve_host", lambda host, port: [])
