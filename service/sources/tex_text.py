"""TeX to plain text with pylatexenc, for service.sources.latex (which decides what needs it).

Apart so that pylatexenc is imported only when a text has TeX in it, not by every process that
renders or ingests.
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

# A sub- or superscript of more than one symbol keeps its grouping: 2^{n+1} → 2^(n+1).
_NEEDS_PARENS = re.compile(r"[^\w]")

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


def tex_to_text(source: str) -> str | None:
    """SOURCE (TeX whose literal characters service.sources.latex protected) as plain text, or
    None when pylatexenc cannot read it."""
    walker_context, _ = _contexts()
    try:
        nodes = LatexWalker(source, latex_context=walker_context, tolerant_parsing=True).get_latex_nodes()[0]
        return _converter().nodelist_to_text(nodes)
    except (LatexWalkerError, ValueError, TypeError, IndexError, KeyError, AttributeError, RecursionError):
        return None
