"""A typer command group whose commands are imported when one of them runs, not at start.

Typer has no lazy groups; this is click's LazyGroup pattern on typer's own (vendored) click. A
command module pulls in most of papermail (SQLAlchemy, the mail path, numpy and scipy for
matching...): importing all of them made every `papermail` start, `digest run` above all, pay
about a second of CPU for commands it never runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import TyperInfo


@dataclass(frozen=True)
class LazyCommand:
    """Where a command is defined, and the line the command list shows for it.

    ``module`` holds either ``app``, a typer.Typer that is the command group (``group=True``), or
    ``register(app)``, which adds the command to APP. ``extends`` are modules that add commands to
    that group when imported (``subscribers import`` lives beside ``subscribers add``).
    """

    module: str
    help: str
    group: bool = False
    extends: tuple[str, ...] = ()


def load_command(name: str, entry: LazyCommand, *, rich_markup_mode: Any, suggest_commands: bool) -> _click.Command:
    """Import ENTRY's modules and build its click command as `add_typer` / `register(app)` would."""
    module = importlib.import_module(entry.module)
    for extension in entry.extends:
        importlib.import_module(extension)
    # pretty_exceptions_short: typer's default, as on the root app (whose pretty exceptions are off).
    if entry.group:
        return get_group_from_info(TyperInfo(module.app, name=name), pretty_exceptions_short=True,
                                   rich_markup_mode=rich_markup_mode, suggest_commands=suggest_commands)
    holder = typer.Typer()
    module.register(holder)
    info = next(command for command in holder.registered_commands if command.name == name)
    return get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=rich_markup_mode)


class LazyCommands(MutableMapping[str, _click.Command]):
    """A group's commands by name: each built on first lookup, in the order of ENTRIES."""

    def __init__(self, entries: Mapping[str, LazyCommand], load: Callable[[str, LazyCommand], _click.Command],
                 loaded: Mapping[str, _click.Command] | None = None) -> None:
        self.entries = entries
        self.load = load
        self.loaded: dict[str, _click.Command] = dict(loaded or {})

    def is_loaded(self, name: str) -> bool:
        return name in self.loaded

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self.loaded:
            if name not in self.entries:
                raise KeyError(name)
            self.loaded[name] = self.load(name, self.entries[name])
        return self.loaded[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.entries
        yield from (name for name in self.loaded if name not in self.entries)

    def __len__(self) -> int:
        return len(set(self.entries) | set(self.loaded))


class LazyGroup(TyperGroup):
    """The root group: ``entries`` (set by a subclass) name the commands; none is imported until used."""

    entries: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.entries, self._load, loaded=self.commands)
        self._listing = False

    def _load(self, name: str, entry: LazyCommand) -> _click.Command:
        return load_command(name, entry, rich_markup_mode=self.rich_markup_mode,
                            suggest_commands=self.suggest_commands)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)  # the names alone: TyperGroup's reads every value, importing all

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if self._listing and cmd_name in self.entries and not self.commands_loaded(cmd_name):
            return placeholder(cmd_name, self.entries[cmd_name])
        return super().get_command(ctx, cmd_name)

    def commands_loaded(self, name: str) -> bool:
        commands = self.commands
        return not isinstance(commands, LazyCommands) or commands.is_loaded(name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        # The command list shows one line a command: for that, importing every module would cost a second.
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def placeholder(name: str, entry: LazyCommand) -> _click.Command:
    """What the command list shows for a command not imported: its name and first line."""
    return TyperCommand(name=name, help=entry.help)
