"""Compile-time finishing of MRML's HTML: CSS inlined, unused classes dropped, ASCII, short lines.

Runs once per template source (its result is cached with the compiled HTML), never per recipient:

- the CSS of ``<mj-style inline="inline">`` is written into ``style=""`` attributes (css-inline), so
  the layout survives clients that drop ``<style>`` (Gmail's apps with non-Google accounts);
  MRML 1.4 does not honour ``inline="inline"`` itself, so the blocks are taken out before it runs;
- classes that no remaining ``<style>`` mentions are removed (they only cost bytes now);
- what a browser reads the same without is dropped: ``<tbody>`` tags (implied by ``<tr>``), the
  blanks around CSS punctuation in ``<style>``, MRML's ``img`` reset in a template without images,
  its column-width rules when every column is full-width (the inline ``width:100%`` says it all);
  each line of a ``<style>`` starts with a space, so none starts with "." (SMTP would have to
  dot-stuff it in every message);
- non-ASCII characters of the template become character references, and lines are broken between
  block-level tags, never inside a comment (MSO conditionals) or a Jinja tag, so a recipient whose
  content is ASCII gets a body that goes out as 7bit with no transfer encoding at all.

Jinja tags are swapped for inert placeholders while the HTML parser (html5ever, inside css-inline)
sees the document, so it neither escapes a ``>`` in ``{% if a > b %}`` nor moves a tag; a check
afterwards refuses a template whose Jinja tags came back out of order (e.g. a ``{% for %}``
between table rows, which the parser would foster-parent out of the table).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import css_inline

_INLINE_STYLE = re.compile(r'<mj-style\s+inline="inline"\s*>(?P<css>.*?)</mj-style>', re.DOTALL)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_PLACEHOLDER = re.compile(r"@@j(\d+)@@")
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_CLASS_ATTR = re.compile(r'\sclass="([^"]*)"')
_CSS_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TBODY = re.compile(r"</?tbody>\n?", re.IGNORECASE)
_STYLE_ELEMENT = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.DOTALL | re.IGNORECASE)
# Blanks around { } ; , and after : carry no meaning in CSS (before ":" they may: "a :hover").
_CSS_BLANKS = re.compile(r"[ \t]*([{};,])[ \t]*|(:)[ \t]+")
_CSS_LAST_SEMICOLON = re.compile(r";(?=\s*})")
_COLUMN_WIDTH_CLASS = re.compile(r"\bmj-column-per-[\w-]+")
# MRML's <style> elements that only size .mj-column-per-100 (a media query, and Thunderbird's copy),
# and old Outlook's column fix (width:100% again).
_FULL_WIDTH_STYLE = re.compile(
    r"<style[^>]*>\s*(?:@media[^{]*\{\s*)?(?:\.moz-text-html\s+)?\.mj-column-per-100\s*\{[^}]*\}\s*\}?\s*</style>\n?"
    r"|<!--\[if lte mso 11\]>\s*<style[^>]*>\s*\.mj-outlook-group-fix\s*\{\s*width:\s*100%\s*!important;?\s*\}\s*"
    r"</style>\s*<!\[endif\]-->\n?"
)
_IMG_RESET = re.compile(r"^img\s*\{[^}]*\}\n?", re.MULTILINE)
# Whitespace after these is not rendered (a block or table boundary), so a line may end there.
_BREAK_AFTER = re.compile(r"</?(?:html|head|body|div|table|tbody|tr|td|p|style|title|meta)\b[^<>]*>(?=<)", re.IGNORECASE)
MAX_TEMPLATE_LINE = 800  # leaves room under SMTP's 998 for what Jinja puts into a line


class InlineError(ValueError):
    """The template cannot be finished safely (the message says why)."""


def take_inline_styles(source: str) -> tuple[str, str]:
    """(source without its ``<mj-style inline="inline">`` blocks, their CSS joined)."""
    css = "\n".join(found["css"] for found in _INLINE_STYLE.finditer(source))
    return _INLINE_STYLE.sub("", source), css


def protect_jinja(html: str) -> tuple[str, list[str]]:
    tags: list[str] = []

    def stash(found: re.Match[str]) -> str:
        tags.append(found.group(0))
        return f"@@j{len(tags) - 1}@@"

    return _JINJA.sub(stash, html), tags


def restore_jinja(html: str, tags: list[str]) -> str:
    order = [int(n) for n in _PLACEHOLDER.findall(html)]
    if order != list(range(len(tags))):
        raise InlineError("the HTML parser moved or dropped a Jinja tag (a loop or if between table rows?)")
    return _PLACEHOLDER.sub(lambda found: tags[int(found.group(1))], html)


def inline_css(html: str, css: str) -> str:
    """``css`` written into the elements it selects; MRML's own ``<style>`` blocks (resets, media
    queries) stay where they are, untouched, and nothing remote is fetched."""
    if not css.strip():
        return html
    inliner = css_inline.CSSInliner(
        inline_style_tags=False, keep_style_tags=True, extra_css=css, load_remote_stylesheets=False, minify_css=True
    )
    return inliner.inline(html)


def outside_comments(html: str, change: Callable[[str], str]) -> str:
    """``change`` applied to the HTML between comments; comments (MSO conditionals) stay as they are."""
    pieces: list[str] = []
    last = 0
    for comment in _COMMENT.finditer(html):
        pieces += [change(html[last : comment.start()]), comment.group(0)]
        last = comment.end()
    pieces.append(change(html[last:]))
    return "".join(pieces)


def drop_unused_classes(html: str) -> str:
    used = {name for block in _STYLE_BLOCK.findall(html) for name in _CSS_CLASS.findall(block)}

    def keep(found: re.Match[str]) -> str:
        if "@@j" in found.group(1):  # a class Jinja decides per recipient: left as it is
            return found.group(0)
        names = [name for name in found.group(1).split() if name in used]
        return f' class="{" ".join(names)}"' if names else ""

    return outside_comments(html, lambda part: _CLASS_ATTR.sub(keep, part))


def drop_full_width_column_rules(html: str) -> str:
    """MRML's column-width rules removed when every column is ``mj-column-per-100``: the column's
    inline style is ``width:100%`` already (drop_unused_classes then drops the class)."""
    if set(_COLUMN_WIDTH_CLASS.findall(html)) != {"mj-column-per-100"}:
        return html
    return _FULL_WIDTH_STYLE.sub("", html)


def drop_tbody(html: str) -> str:
    return outside_comments(html, lambda part: _TBODY.sub("", part))


def minify_css(css: str) -> str:
    """CSS without the blanks the parser ignores, one rule a line, each line indented."""
    css = _CSS_LAST_SEMICOLON.sub("", _CSS_BLANKS.sub(lambda found: found.group(1) or found.group(2), css))
    return "".join(f"\n {line}" for line in css.split("\n") if line.strip()) + "\n"


def tidy_styles(html: str) -> str:
    """Every ``<style>`` outside comments minified (MSO-only ones are left as they are); MRML's
    ``img`` reset dropped when the template has no image."""
    has_img = "<img" in html.lower()

    def tidy(found: re.Match[str]) -> str:
        css = found.group(2) if has_img else _IMG_RESET.sub("", found.group(2))
        return found.group(1) + minify_css(css) + found.group(3)

    return outside_comments(html, lambda part: _STYLE_ELEMENT.sub(tidy, part))


def ascii_only(html: str) -> str:
    """Non-ASCII as numeric character references (placeholders and markup are ASCII already)."""
    return html if html.isascii() else html.encode("ascii", "xmlcharrefreplace").decode("ascii")


def break_lines(html: str) -> str:
    """A line break after block-level tags and comment ends, never inside a comment."""
    broken = outside_comments(html, lambda part: _BREAK_AFTER.sub(lambda found: found.group(0) + "\n", part))
    # A comment's end is also a safe place; done on the joined text so the comment stays whole.
    return re.sub(r"-->(?=<)", "-->\n", broken)


def finish(html: str, css: str) -> str:
    """The compiled template as it is cached: inlined, trimmed, ASCII, in short lines."""
    protected, tags = protect_jinja(html)
    protected = drop_unused_classes(drop_full_width_column_rules(inline_css(protected, css)))
    protected = break_lines(ascii_only(tidy_styles(drop_tbody(protected))))
    # No line starts with "." (SMTP would dot-stuff each message); a blank after a line break
    # renders as nothing, in a comment or between tags alike.
    protected = protected.replace("\n.", "\n .")
    too_long = max(protected.split("\n"), key=len)
    if len(too_long) > MAX_TEMPLATE_LINE:
        raise InlineError(f"a template line stays {len(too_long)} characters long: {too_long[:80]!r}…")
    return restore_jinja(protected, tags)
