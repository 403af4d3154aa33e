"""LaTeX in titles and abstracts made readable as plain text, with pylatexenc (pure).

arXiv abstracts and titles are TeX sources: ``$2^{n}$``, ``\\emph{x}``, ``$\\mathcal{O}(n)$``,
``$\\alpha$``. ``readable`` turns them into ``2^n``, ``x``, ``O(n)``, ``α`` once, at ingest, so
the stored text is what every reader sees (digests, the web, the feed) and the matcher's
highlight spans index that same text.

Only text with a real TeX signal is converted (a macro such as ``\\emph``, an escaped special
such as ``\\%``, or a ``$…$`` pair): most abstracts (and every HF AI summary) are plain text in
which ``%``, ``~`` and braces mean themselves, and pylatexenc would read ``50% of`` as a
comment and ``~47k`` as a non-breaking space. Inside converted text those literal characters
are protected the same way. Measured on the recorded feeds (titles, abstracts, AI summaries):
6 of 152 texts carry a signal and take ~17 ms each to convert; the other 146 cost one
regular-expression search (~50 µs). Hence at ingest, not per recipient.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# pylatexenc ships no type information.
from pylatexenc import macrospec
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec
from pylatexenc.latex2text import get_default_latex_context_db as text_context_db
from pylatexenc.latexwalker import LatexGroupNode, LatexWalker, LatexWalkerError
from pylatexenc.latexwalker import get_default_latex_context_db as walker_context_db

# A macro name, an escaped special, or an inline-math pair: "$x$" yes, "costs $5 and $10" no
# (math hugs its dollars; a closing one is not followed by a digit).
_TEX_SIGNAL = re.compile(
    r"\\[A-Za-z]{2,}|\\[%&#$_{}]|\\['`^\"~=.]\{?[A-Za-z]|(?<![\\$])\$(?=\S)[^$]+?(?<=\S)\$(?!\d)"
)
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")
# Characters that are literal in plain text but special to TeX, swapped for private-use code
# points while pylatexenc runs, then put back.
_LITERALS = {"%": "\ue000", "&": "\ue001", "#": "\ue002", "~": "\ue003", "$": "\ue004"}
_RESTORE = str.maketrans({v: k for k, v in _LITERALS.items()})
_PRIVATE = re.compile("[\ue000-\ue004]")
_BARE = re.compile(r"(?<!\\)[%&#]")
# "~" ties a word to the next in TeX ("Fig.~3"), so it follows a word; elsewhere ("~47k",
# "(~5x)") it means "about".
_LITERAL_TILDE = re.compile(r"(?<![\w.,;:)\]])~")
# A sub- or superscript of more than one symbol keeps its grouping: 2^{n+1} → 2^(n+1).
_NEEDS_PARENS = re.compile(r"[^\w]")
_WHITESPACE = re.compile(r"\s+")

# Font and structure macros whose argument is the text itself: plain letters read better in
# mail clients than the Unicode maths alphabets pylatexenc picks (𝒪 for \mathcal{O}).
_CONTENT_MACROS = (
    "mathcal", "mathbb", "mathbf", "mathrm", "mathit", "mathsf", "mathtt", "mathscr", "mathfrak",
    "boldsymbol", "bm", "operatorname", "text", "textrm", "textnormal", "textsc", "textsf", "textup",
    "textmd", "texttt", "textit", "textbf", "textsl", "emph", "underline", "mbox", "url",
)
_DROPPED_MACROS = ("cite", "citep", "citet", "ref", "eqref", "label", "footnote")
_NAMED = {"LaTeX": "LaTeX", "TeX": "TeX"}


@functools.cache
def _contexts() -> tuple[Any, Any]:
    walker = walker_context_db()
    walker.add_context_category(
        "papermail",
        macros=[macrospec.std_macro("href", False, 2), *(macrospec.std_macro(n, False, 1) for n in _CONTENT_MACROS),
                *(macrospec.std_macro(n, True, 1) for n in _DROPPED_MACROS)],
        prepend=True,
    )
    text = text_context_db()
    text.add_context_category(
        "papermail",
        macros=[MacroTextSpec("href", "%(2)s"), *(MacroTextSpec(n, "%(1)s") for n in _CONTENT_MACROS),
                *(MacroTextSpec(n, "") for n in _DROPPED_MACROS), *(MacroTextSpec(n, t) for n, t in _NAMED.items())],
        prepend=True,
    )
    return walker, text


class _Converter(LatexNodes2Text):
    """pylatexenc's converter, keeping a space between a bare macro and what follows when the
    source had one (``$n \\to \\infty$`` → ``n → ∞``, not ``n →∞``) or when both are words
    (``$\\ln\\ln T$`` → ``ln ln T``)."""

    def nodelist_to_text(self, nodelist: list[Any]) -> str:
        out = ""
        prev = None
        for node in nodelist:
            piece = self.node_to_text(node)
            if out[-1:] in ("^", "_") and node.isNodeType(LatexGroupNode) and _NEEDS_PARENS.search(piece):
                piece = f"({piece})"
            if prev is not None and self._is_bare_macro_node(prev) and piece and not piece[0].isspace():
                spaced = bool(prev.macro_post_space)
                words = out[-1:].isascii() and out[-1:].isalpha() and piece[0].isascii() and piece[0].isalpha()
                if spaced or words:
                    out += " "
            out += piece
            prev = node
        return out


@functools.cache
def _converter() -> _Converter:
    _, text = _contexts()
    return _Converter(latex_context=text, math_mode="text", strict_latex_spaces=False)


# Cached: the renderer asks for the same few hundred texts once per recipient.
@functools.lru_cache(maxsize=8192)
def has_tex(text: str) -> bool:
    return bool(text) and _TEX_SIGNAL.search(text) is not None


def _protect(text: str) -> str:
    text = _PRIVATE.sub("", text)
    text = _BARE.sub(lambda m: _LITERALS[m.group()], text)
    text = _LITERAL_TILDE.sub(_LITERALS["~"], text)
    dollars = list(_UNESCAPED_DOLLAR.finditer(text))
    if len(dollars) % 2:  # an odd one out is a currency sign, not the start of maths
        last = dollars[-1].start()
        text = text[:last] + _LITERALS["$"] + text[last + 1 :]
    return text


# Cached for the renderer's fallback (rows stored before ingest cleaned them): a batch shows
# the same few hundred texts to every reader.
@functools.lru_cache(maxsize=2048)
def readable(text: str) -> str:
    """TEXT with its LaTeX turned into plain text; unchanged when it has none. Never raises: a
    fragment pylatexenc cannot read is returned as it came."""
    if not has_tex(text):
        return text
    walker_context, _ = _contexts()
    try:
        nodes = LatexWalker(_protect(text), latex_context=walker_context, tolerant_parsing=True).get_latex_nodes()[0]
        converted = _converter().nodelist_to_text(nodes)
    except (LatexWalkerError, ValueError, TypeError, IndexError, KeyError, AttributeError, RecursionError):
        return text
    cleaned = _WHITESPACE.sub(" ", converted.translate(_RESTORE)).strip()
    return cleaned or text  # a title that was all markup keeps its markup rather than vanish
