"""The audit log is written by service/actions/ only: no page, API route, command, worker or
domain module calls ``service.admin.audit.record`` itself, however it imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
AUDIT = "service.admin.audit"
ALLOWED = ROOT / "service" / "actions"


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attribute lookups on a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def audit_record_calls(source: str) -> list[int]:
    """Line numbers of every call of service.admin.audit.record in SOURCE."""
    tree = ast.parse(source)
    # What each local name stands for, as a dotted path ("audit" -> "service.admin.audit").
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:  # `import service.admin.audit` binds `service`
                    names[alias.name.split(".")[0]] = alias.name.split(".")[0]
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        chain = dotted(node.func)
        if chain is None:
            continue
        head, _, rest = chain.partition(".")
        resolved = names.get(head, head) + (f".{rest}" if rest else "")
        if resolved == f"{AUDIT}.record":
            lines.append(node.lineno)
    return lines


def test_the_checker_sees_every_spelling() -> None:
    source = "\n".join([
        "from service.admin import audit",
        "from service.admin import audit as log",
        "from service.admin.audit import record",
        "from service.admin.audit import record as write",
        "import service.admin.audit",
        "import service.admin.audit as a",
        "audit.record(s, 'x', 'y', 'z', 1)",
        "log.record(s, 'x', 'y', 'z', 1)",
        "record(s, 'x', 'y', 'z', 1)",
        "write(s, 'x', 'y', 'z', 1)",
        "service.admin.audit.record(s, 'x', 'y', 'z', 1)",
        "a.record(s, 'x', 'y', 'z', 1)",
        "audit.snapshot(row)",  # reading helpers are fine anywhere
        "other.record(1)",
    ])
    assert audit_record_calls(source) == [7, 8, 9, 10, 11, 12]


def test_only_the_actions_write_the_audit_log() -> None:
    offenders = []
    for folder in ("service", "workers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.is_relative_to(ALLOWED):
                continue
            for line in audit_record_calls(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == [], "call a service.actions function instead of audit.record: " + ", ".join(offenders)


def test_the_actions_do_write_it() -> None:
    # The rule above would pass vacuously if the search looked in the wrong place.
    found = [p for p in ALLOWED.glob("*.py") if audit_record_calls(p.read_text(encoding="utf-8"))]
    assert {p.name for p in found} >= {"subscribers.py", "readers.py", "bounces.py", "topics.py", "sources.py",
                                       "deliveries.py", "admin.py"}
