"""MJML → Jinja HTML template, compiled once per distinct source and cached by content hash.

The MJML sources hold Jinja (``{{ … }}`` and ``{% … %}`` inside ``mj-text``/``mj-raw``); MRML
leaves it alone, so one compile yields a Jinja template that is then filled per recipient. The
compile also inlines the ``<mj-style inline="inline">`` CSS and makes the HTML ASCII in short
lines (service.rendering.inline): all of it once per source, cached, never per recipient.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import mjml

from service.rendering.inline import InlineError, finish, take_inline_styles

_INDENT = re.compile(r"\n[ \t]+")
INCLUDE = re.compile(r'<mj-include\s+path="(?P<path>[^"]+)"\s*/>')
MAX_INCLUDE_DEPTH = 8


class TemplateError(Exception):
    """A template is missing, escapes the templates directory, or compiles to broken output."""


def expand_includes(source: str, base_dir: Path, root: Path, depth: int = 0) -> str:
    """Inline ``<mj-include path="…"/>`` (paths relative to ``base_dir``, confined to ``root``).

    Done here rather than by MRML's include_loader: MRML (mjml-python 1.4.2) renders sections
    that come from an include without the body's width, so they stretch to the full window.
    """
    if depth > MAX_INCLUDE_DEPTH:
        raise TemplateError(f"mj-include nested deeper than {MAX_INCLUDE_DEPTH} under {base_dir}")

    def replace(found: re.Match[str]) -> str:
        path = (base_dir / found["path"]).resolve()
        if not path.is_relative_to(root.resolve()):
            raise TemplateError(f"mj-include outside the templates directory: {found['path']}")
        if not path.is_file():
            raise TemplateError(f"mj-include not found: {path}")
        return expand_includes(path.read_text(encoding="utf-8"), path.parent, root, depth + 1)

    return INCLUDE.sub(replace, source)


def content_key(source: str) -> str:
    # The MRML version is part of the key: an upgrade must not serve HTML compiled by the old one.
    # So are the inliner's and this module's finishing steps (FINISH_VERSION).
    return hashlib.sha256(f"{_MRML_VERSION}\0{_INLINER_VERSION}\0{FINISH_VERSION}\0{source}".encode()).hexdigest()


def compile_mjml(source: str) -> str:
    """One MRML compile, then the CSS inlined and the lines broken (service.rendering.inline);
    checks that no MJML tag survived (a typo'd tag would reach the reader)."""
    source, css = take_inline_styles(dedent_lines(source))
    try:
        html = mjml.mjml2html(source, disable_comments=True)
    except ValueError as exc:
        raise TemplateError(f"MJML did not compile: {exc}") from exc
    if "<mj-" in html:
        raise TemplateError("compiled HTML still contains an <mj- tag")
    try:
        return finish(html, css)
    except InlineError as exc:
        raise TemplateError(str(exc)) from exc


def dedent_lines(source: str) -> str:
    """Indentation removed: inside ``mj-text`` MRML keeps it byte for byte, ten times per digest,
    and whitespace after a line break renders as nothing (our templates have no ``<pre>``)."""
    return _INDENT.sub("\n", source)


class MjmlCompiler:
    """Compiled HTML by content hash: in-process dict first, then ``cache_dir`` when given."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self._compiled: dict[str, str] = {}
        self.compiles = 0  # MRML runs, for tests and the benchmark

    def compile(self, source: str) -> tuple[str, str]:
        """(content key, compiled HTML) for an already include-expanded MJML source."""
        key = content_key(source)
        html = self._compiled.get(key)
        if html is None:
            html = self._read_disk(key)
            if html is None:
                html = compile_mjml(source)
                self.compiles += 1
                self._write_disk(key, html)
            self._compiled[key] = html
        return key, html

    def _read_disk(self, key: str) -> str | None:
        if self.cache_dir is None:
            return None
        try:
            return (self.cache_dir / f"{key}.html").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _write_disk(self, key: str, html: str) -> None:
        if self.cache_dir is None:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # Write then rename: a worker reading concurrently never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(html)
        os.replace(tmp, self.cache_dir / f"{key}.html")


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


FINISH_VERSION = "3"  # bump when compile_mjml's output changes for the same source
_MRML_VERSION = _version("mjml-python")
_INLINER_VERSION = _version("css-inline")
