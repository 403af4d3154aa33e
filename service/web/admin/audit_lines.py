"""An audit entry as the subscriber history and the templates show it: one line per changed field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def change_lines(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """An audit entry as (field, before, after) lines; a changed dict (preferences) shows only
    its changed keys, as ``preferences.topics``. Values are JSON, cut to 80 characters."""
    before, after = before or {}, after or {}
    lines: list[tuple[str, str, str]] = []
    for key in list(after) + [k for k in before if k not in after]:
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            lines += [(f"{key}.{sub}", o, n) for sub, o, n in change_lines(old, new) if o != n]
        elif key not in before or key not in after or old != new:
            lines.append((key, _short(old) if key in before else "", _short(new) if key in after else ""))
    return lines


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"
