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
_WHITESPACE = re.compile(r"\s+")


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
    # pylatexenc is loaded by the first text that needs it: most processes (a digest run, the
    # web) meet none, and importing it costs every start ~10 ms.
    from service.sources.tex_text import tex_to_text

    converted = tex_to_text(_protect(text))
    if converted is None:
        return text
    cleaned = _WHITESPACE.sub(" ", converted.translate(_RESTORE)).strip()
    return cleaned or text  # a title that was all markup keeps its markup rather than vanish
