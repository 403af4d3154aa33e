"""Docker cannot run here, so pin what it relies on: compose commands are real subcommands,
the image's entry points exist, and the wheel carries templates and migrations."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.main import get_command

from service.cli import app as cli_app

ROOT = Path(__file__).resolve().parents[1]


def cli_paths() -> set[tuple[str, ...]]:
    """Every runnable command path of the papermail CLI, e.g. ('db', 'upgrade')."""
    paths: set[tuple[str, ...]] = set()

    def walk(command: object, prefix: tuple[str, ...]) -> None:
        # typer vendors its own click: duck-type groups by their sub-commands.
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, prefix + (name,))
        else:
            paths.add(prefix)

    walk(get_command(cli_app), ())
    return paths


def test_compose_commands_are_papermail_subcommands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    ours = {name: svc for name, svc in compose["services"].items() if svc.get("build") or svc.get("image", "").startswith("papermail")}
    assert {"web", "worker", "beat"} <= set(ours)
    known = cli_paths()
    for name, service in ours.items():
        command = service["command"]
        assert command[0] == "papermail", name
        words = tuple(w for w in command[1:] if not w.startswith("-") and not w.isdigit())
        assert any(words[: len(path)] == path for path in known), f"{name}: {command}"
    assert {"redis", "postgres", "mailcatcher"} <= set(compose["services"])


def test_dockerfile_entry_points_exist() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r'^CMD \["papermail", "(\w+)"\]', dockerfile, re.M)
    assert cmd and (cmd.group(1),) in cli_paths()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M), "the image must not run as root"
    assert "/healthz" in dockerfile
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'papermail = "service.cli:main"' in pyproject
    for copied in re.findall(r"^COPY (\w+) \./", dockerfile, re.M):
        assert (ROOT / copied).is_dir(), copied


@pytest.mark.integration
def test_wheel_carries_templates_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    wheel = next(tmp_path.glob("papermail-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "service/storage/migrations/env.py" in names
    assert any(n.startswith("service/storage/migrations/versions/0001") for n in names)
    assert "config/topics.toml" in names or not (ROOT / "config" / "topics.toml").exists()
    assert {n for n in names if n.startswith("templates/")} == {
        f"templates/{p.relative_to(ROOT / 'templates')}" for p in (ROOT / "templates").rglob("*") if p.is_file()
    }
