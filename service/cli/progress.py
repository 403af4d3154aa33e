"""The commands' progress display: on stderr, and only on a terminal.

stdout is what scripts read (a counts line, a report); rich's live display on stdout left a
blank first line there when piped, and a progress bar in a log file helps no one.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn


def progress(*columns: str | ProgressColumn, **options: Any) -> Progress:
    console = Console(stderr=True)
    return Progress(*columns, console=console, disable=not console.is_terminal, transient=True, **options)
