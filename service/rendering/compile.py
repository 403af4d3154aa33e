"""MJML → Jinja HTML template, compiled once per distinct source and cached by content hash.

The MJML sources hold Jinja (``{{ … }}`` in text, loops and ifs wrapped in ``<mj-raw>``); MRML
leaves both alone, so one compile yields a Jinja template that is then filled per recipient.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import mjml

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
    return hashlib.sha256(f"{_MRML_VERSION}\0{source}".encode()).hexdigest()


def compile_mjml(source: str) -> str:
    """One MRML compile; checks that no MJML tag survived (a typo'd tag would reach the reader)."""
    try:
        html = mjml.mjml2html(source, disable_comments=True)
    except ValueError as exc:
        raise TemplateError(f"MJML did not compile: {exc}") from exc
    if "<mj-" in html:
        raise TemplateError("compiled HTML still contains an <mj- tag")
    return html


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


def _mrml_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mjml-python")
    except PackageNotFoundError:
        return "unknown"


_MRML_VERSION = _mrml_version()
