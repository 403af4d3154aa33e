"""Templates rendered once per shape, then filled per reader by joining strings.

A digest's templates are the same Jinja for every reader; what differs is a handful of values (the
reason under a paper, its vote links, the date, the footer's links) and a few conditions on them.
So a template is rendered once per *shape* (the values every reader of it shares, and which of the
reader's own are set) with stand-ins (:class:`Slot`) in place of the reader's values. Each stand-in
prints a marker and records how it was printed (escaped for HTML, through ``wrap`` for text); the
output is split on the markers into literal pieces, and a reader's copy is those pieces joined with
the reader's values put through the same steps. No Jinja runs per reader.

Correctness rests on three checks, so a mistake fails loudly instead of sending one reader's text to
another: the stand-in context names only what the caller declares (strict undefined catches the
rest); a filter other than ``wrap`` given a stand-in raises (its output could not be redone per
reader); and a render whose markers are missing, repeated or out of order, or whose literals hold a
marker character (one in a paper's own text), raises :class:`SpliceError`, on which the caller
renders that email the plain way. tests/service/rendering/test_splice.py compares both ways byte for
byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import escape

OPEN, CLOSE = "\ue000", "\ue001"  # private-use characters: the markers a stand-in prints
_MARKER = re.compile(f"{OPEN}(\\d+){CLOSE}")
# Shapes kept per template before its cache starts over: a batch needs a few hundred, and a
# paper block is ~1.5 KB of literals (4096 of them, ~6 MB per template at worst).
MAX_SHAPES = 4096

Step = Callable[[Any], Any]


class SpliceError(Exception):
    """This render cannot be split safely; render the email the plain way."""


class Recorder:
    """The uses of the stand-ins during one render, in the order they were printed."""

    def __init__(self, html: bool) -> None:
        self.html = html
        self.uses: list[tuple[int, tuple[Step, ...], bool]] = []  # (value index, steps, escaped)

    def use(self, index: int, steps: tuple[Step, ...], escaped: bool) -> str:
        self.uses.append((index, steps, escaped))
        return f"{OPEN}{len(self.uses) - 1}{CLOSE}"


class Slot:
    """Stands in for the reader's value number ``index``. ``verbatim``: the value is already
    rendered markup (a paper's block) and goes in as it is."""

    __slots__ = ("index", "recorder", "steps", "verbatim")

    def __init__(self, recorder: Recorder, index: int, steps: tuple[Step, ...] = (), verbatim: bool = False) -> None:
        self.recorder, self.index, self.steps, self.verbatim = recorder, index, steps, verbatim

    def then(self, step: Step) -> Slot:
        return Slot(self.recorder, self.index, (*self.steps, step), self.verbatim)

    def __html__(self) -> str:
        return self.recorder.use(self.index, self.steps, escaped=not self.verbatim)

    def __eq__(self, other: object) -> bool:
        # A comparison would be decided once, for the first reader: refused like a filter.
        raise SpliceError("a per-reader value compared in a template")

    __hash__ = object.__hash__

    def __str__(self) -> str:
        if self.recorder.html and not self.verbatim:
            # In HTML only escaping prints a value; str() here means a filter or ``~`` took it in.
            raise SpliceError("a per-reader value went through str() in an HTML template")
        return self.recorder.use(self.index, self.steps, escaped=False)


def slot_aware(environment: jinja2.Environment, steps: dict[str, Callable[..., Any]]) -> None:
    """Make ENVIRONMENT's filters refuse stand-ins, except those in STEPS, which record themselves
    as a step to redo per reader. Call before any template of the environment is compiled."""

    def refusing(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            if any(isinstance(a, Slot) or (isinstance(a, str) and OPEN in a) for a in (*args, *kwargs.values())):
                raise SpliceError(f"filter {name!r} given a per-reader value")
            return original(*args, **kwargs)

        return refuse

    def recording(original: Callable[..., Any]) -> Callable[..., Any]:
        def record(value: Any, *args: Any) -> Any:
            if isinstance(value, Slot):
                return value.then(lambda v: original(v, *args))
            if isinstance(value, str) and OPEN in value:
                raise SpliceError("a per-reader value inside a filtered string")
            return original(value, *args)

        return record

    for name, original in list(environment.filters.items()):
        environment.filters[name] = refusing(name, original)
    for name, step in steps.items():
        environment.filters[name] = recording(step)


try:  # markupsafe's C escape without the Markup wrapper around its result: 6x faster per value
    from markupsafe._speedups import _escape_inner
except ImportError:  # pragma: no cover - the pure-Python build of markupsafe

    def _escape_inner(s: str, /) -> str:
        return str(escape(s))


def escaped(value: Any) -> str:
    """``markupsafe.escape(value)`` as a plain str (equal to it, character for character)."""
    return _escape_inner(value) if type(value) is str else str(escape(value))


def _step(steps: tuple[Step, ...], escaped_: bool) -> Step:
    final: Step = escaped if escaped_ else str
    if not steps:
        return final
    if len(steps) == 1:  # the text part's ``wrap``: one call less per value
        (only,) = steps
        return lambda value: final(only(value))

    def run(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return final(value)

    return run


@dataclass(frozen=True, slots=True)
class Pieces:
    """A rendered shape: ``literals[0] value literals[1] value … literals[-1]``."""

    literals: tuple[str, ...]
    fills: tuple[tuple[int, Step], ...]  # per gap: (value index, how it is printed)

    @classmethod
    def split(cls, output: str, recorder: Recorder) -> Pieces:
        parts = _MARKER.split(output)
        literals, numbers = parts[0::2], [int(n) for n in parts[1::2]]
        if numbers != list(range(len(recorder.uses))) or any(OPEN in p or CLOSE in p for p in literals):
            raise SpliceError("the render's markers do not match its stand-ins")
        fills = tuple((index, _step(steps, escaped)) for index, steps, escaped in recorder.uses)
        return cls(tuple(literals), fills)

    def fill(self, values: Sequence[Any]) -> str:
        out: list[str] = [*self.literals, *self.literals[1:]]  # the right length; odd places overwritten
        out[0::2] = self.literals
        out[1::2] = [step(values[index]) for index, step in self.fills]
        return "".join(out)


class SplicedTemplate:
    """One Jinja template, its shapes rendered on first use and kept."""

    def __init__(self, template: jinja2.Template, html: bool) -> None:
        self.template, self.html = template, html
        self.shapes: dict[Hashable, Pieces] = {}

    def render(self, key: Hashable, values: Sequence[Any], stand_ins: Callable[[Recorder], dict[str, Any]]) -> str:
        """The reader's copy: KEY names the shape, VALUES are the reader's own (in the order
        STAND_INS numbers its slots); STAND_INS builds the context of a first render of KEY."""
        pieces = self.shapes.get(key)
        if pieces is None:
            recorder = Recorder(self.html)
            pieces = Pieces.split(self.template.render(stand_ins(recorder)), recorder)
            if len(self.shapes) >= MAX_SHAPES:
                self.shapes.clear()
            self.shapes[key] = pieces
        return pieces.fill(values)


def shown(value: Any) -> Any:
    """A value's part of a shape key: whether it is set, or the unset value itself (None, "")."""
    return True if value else value


def slot_if_set(recorder: Recorder, index: int, value: Any, verbatim: bool = False) -> Any:
    """A stand-in for a set value; an unset one is part of the key and goes in as it is."""
    return Slot(recorder, index, verbatim=verbatim) if value else value

