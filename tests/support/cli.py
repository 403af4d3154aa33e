"""Run the real `papermail` command in a child process, with settings from the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from config.settings import Settings
from tests.support.processes import settings_env


def run_cli(settings: Settings, *args: str, cwd: Path | None = None, stdin: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=settings_env(settings),
        cwd=cwd or settings.data_dir.parent,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
