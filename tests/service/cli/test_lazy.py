"""The command modules are imported when their command runs: `papermail --help` shows every
command with its own first line, loads none of them, and a command loads only its own module."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import OperationalError
from typer.main import get_command
from typer.testing import CliRunner

import service.cli
from service.cli import COMMANDS, app
from service.cli.errors import is_unreachable
from service.cli.lazy import LazyCommands, load_command

ROOT = Path(__file__).resolve().parents[3]
COMMAND_MODULES = sorted({entry.module for entry in COMMANDS.values()} | {"service.cli.subscribers_csv"})


def first_paragraph(command: object) -> str:
    text = getattr(command, "short_help", None) or getattr(command, "help", None) or ""
    return inspect.cleandoc(text).split("\n\n")[0].strip()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_line_is_the_commands_own(name: str) -> None:
    real = load_command(name, COMMANDS[name], rich_markup_mode="rich", suggest_commands=True)
    assert real.name == name
    assert COMMANDS[name].help == first_paragraph(real)


def test_every_registered_command_is_listed_once() -> None:
    for module_name in {entry.module for entry in COMMANDS.values() if not entry.group}:
        holder = typer.Typer()
        importlib.import_module(module_name).register(holder)
        registered = {command.name for command in holder.registered_commands}
        listed = {name for name, entry in COMMANDS.items() if entry.module == module_name}
        assert registered == listed, module_name


def test_the_group_looks_up_commands_on_demand() -> None:
    group = get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert isinstance(commands, LazyCommands)
    assert list(commands) == list(COMMANDS) and len(commands) == len(COMMANDS)
    assert not any(commands.is_loaded(name) for name in COMMANDS)
    assert commands["db"].name == "db" and commands.is_loaded("db") and not commands.is_loaded("digest")
    with pytest.raises(KeyError):
        commands["nosuch"]


def test_the_command_tree_is_whole() -> None:
    group = get_command(app)
    subscribers = group.commands["subscribers"]  # type: ignore[attr-defined]
    assert list(subscribers.commands) == ["add", "import", "export"]
    assert list(group.commands["digest"].commands) == ["preview", "run", "plan"]  # type: ignore[attr-defined]


def test_a_typo_still_gets_a_suggestion() -> None:
    result = CliRunner().invoke(app, ["digets"])
    assert result.exit_code == 2
    assert "Did you mean 'digest'" in result.output


def modules_after(*args: str) -> tuple[str, set[str]]:
    """Run `papermail ARGS` in a fresh interpreter: its stdout and the modules it imported."""
    code = (
        "import json, sys\n"
        f"sys.argv = ['papermail', *{list(args)!r}]\n"
        "from service.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERMAIL_")} | {"COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    return done.stdout, set(json.loads(done.stderr.rpartition("MODULES ")[2]))


def test_help_lists_every_command_and_imports_none() -> None:
    out, modules = modules_after("--help")
    for name, entry in COMMANDS.items():
        assert f" {name} " in out and entry.help[:40] in out, name
    assert not modules & set(COMMAND_MODULES)
    assert not {"sqlalchemy", "pydantic_settings", "config.settings", "kombu", "redis"} & modules


def test_a_command_imports_its_own_module_only() -> None:
    out, modules = modules_after("db", "--help")
    assert "upgrade" in out
    assert modules & set(COMMAND_MODULES) == {"service.cli.db"}
    _, modules = modules_after("subscribers", "--help")
    assert modules & set(COMMAND_MODULES) == {"service.cli.subscribers", "service.cli.subscribers_csv"}


def test_unreachable_means_a_driver_error() -> None:
    assert is_unreachable(OperationalError("SELECT 1", {}, Exception("refused")))
    assert is_unreachable(BrokerError("refused"))
    assert not is_unreachable(RuntimeError("a bug"))


def test_main_lets_other_errors_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service.cli, "app", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        service.cli.main()
