"""Debian's Chromium driven by Playwright (its own browser download cannot work offline), and a
page wrapper that records console errors, checks for horizontal scroll and keeps screenshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# Headless, and nothing that phones home: this machine's network is closed.
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class CheckedPage:
    """A page that records console errors and checks the width at every screenshot."""

    def __init__(self, page: Any, width: int, prefix: str, ignore: Callable[[Any], bool] = lambda msg: False) -> None:
        self.page, self.width, self.prefix = page, width, prefix
        self.errors: list[str] = []
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" and not ignore(msg) else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def shot(self, name: str) -> Path:
        scroll = self.page.evaluate("document.documentElement.scrollWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.prefix}-{name}-{self.width}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert scroll <= self.width, f"{name}: {scroll}px wide content in a {self.width}px viewport"
        assert path.stat().st_size > 5_000
        return path
