"""The shared email renderer: one folder of templates per email, filled with a context dict.

``templates/email/<name>/`` holds ``subject.txt`` and ``body.txt`` (Jinja, text environment) and
``body.mjml`` (MJML compiled once into a Jinja HTML template, then filled per recipient).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from markupsafe import Markup

from service.rendering.compile import MjmlCompiler, TemplateError, expand_includes
from service.rendering.environment import (
    TEMPLATES_DIR,
    html_environment,
    text_environment,
)

SUBJECT_LIMIT = 78
T = TypeVar("T")
PREHEADER_LIMIT = 140
# Invisible filler after the preheader so inbox previews don't run on into the body text. The
# preheader's div (templates/email/_base/header.mjml) hides it without a colour or font-size
# trick: MRML's mj-preview uses white 1px text, which SpamAssassin scores as low contrast.
PREHEADER_PAD = Markup("&#847;&zwnj;&nbsp;" * 20)
_UNSAFE_SPACE = re.compile(r"[\s\x00-\x1f\x7f\u2028\u2029]+")


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str  # one line, ≤ 78 characters
    html: str
    text: str
    preheader: str


@functools.lru_cache(maxsize=4096)  # subjects and preheaders repeat across a batch's readers
def one_line(value: str, limit: int) -> str:
    """Whitespace and control characters (CR, LF…) collapsed to single spaces, cut at ``limit``
    characters on a word boundary with an ellipsis: safe for a header, tidy in an inbox."""
    value = _UNSAFE_SPACE.sub(" ", value).strip()
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—·") + "…"


class EmailRenderer:
    """Renders any email folder. Keep one per process: it holds the compiled templates."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR, cache_dir: Path | None = None) -> None:
        self.templates_dir = templates_dir
        self.compiler = MjmlCompiler(cache_dir)
        self._html_env = html_environment()
        self._text_env = text_environment(templates_dir)
        self._html: dict[str, jinja2.Template] = {}
        self._by_key: dict[str, jinja2.Template] = {}
        self._text: dict[str, jinja2.Template] = {}
        self._derived: dict[str, Any] = {}

    def derived(self, key: str, build: Callable[[EmailRenderer], T]) -> T:
        """What BUILD makes of this renderer, made once (the digest's spliced templates)."""
        if key not in self._derived:
            self._derived[key] = build(self)
        return self._derived[key]

    def compiled(self, name: str) -> tuple[str, str]:
        """(content key, compiled Jinja HTML) of email NAME's body.mjml."""
        folder = self.templates_dir / "email" / name
        source_path = folder / "body.mjml"
        if not source_path.is_file():
            raise TemplateError(f"no email template {source_path}")
        source = expand_includes(source_path.read_text(encoding="utf-8"), folder, self.templates_dir)
        return self.compiler.compile(source)

    def html_source(self, name: str) -> str:
        """The compiled Jinja HTML of email NAME, as its template was made from."""
        return self.compiled(name)[1]

    def text_source(self, path: str) -> str:
        """The Jinja source of text template PATH (e.g. ``email/digest/body.txt``)."""
        loader = self._text_env.loader
        assert loader is not None
        return loader.get_source(self._text_env, path)[0]

    def html_template(self, name: str) -> jinja2.Template:
        template = self._html.get(name)
        if template is None:
            key, html = self.compiled(name)
            # Two emails with identical sources share one Jinja template too.
            template = self._by_key.get(key) or self._html_env.from_string(html)
            self._by_key[key] = self._html[name] = template
        return template

    def text_template(self, path: str) -> jinja2.Template:
        # Ours, not the environment's get_template: that one takes a lock and checks its LRU.
        template = self._text.get(path)
        if template is None:
            template = self._text[path] = self._text_env.get_template(path)
        return template

    def subject(self, name: str, context: Mapping[str, Any], limit: int = SUBJECT_LIMIT) -> str:
        raw = self.text_template(f"email/{name}/subject.txt").render(context)
        return one_line(raw, limit)

    def render(self, name: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Subject, HTML and text of email ``name``; ``context['preheader']`` is optional."""
        subject = self.subject(name, context)
        preheader = one_line(str(context.get("preheader", "")), PREHEADER_LIMIT)
        full = {**context, "subject": subject, "preheader": preheader, "preheader_pad": PREHEADER_PAD}
        html = self.html_template(name).render(full)
        text = self.text_template(f"email/{name}/body.txt").render(full)
        return RenderedEmail(subject=subject, html=html, text=text, preheader=preheader)


@functools.cache
def default_renderer() -> EmailRenderer:
    """The process-wide renderer over the shipped templates (in-memory cache only)."""
    return EmailRenderer()
