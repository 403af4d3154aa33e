"""A paper's address on the site: ``/papers/<bare arXiv id>``, or ``/papers/p-<row id>`` for a
paper without one (pure).

The row id is stable (ingestion upserts, it never replaces a row), so ``p-<id>`` never moves;
when such a paper later gets an arXiv id the old address redirects to the new one. A bare
number is the row id as the Atom feed's entry ids carry it (``/papers/28``), and a versioned
arXiv id (``2606.00467v2``) is the paper without its version: both redirect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# New-style ids (2007 on) and the old archive/number ones ("hep-th/9901001", "math.GT/0309136").
ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?")
ROW_SLUG = re.compile(r"(?:p-)?(\d{1,10})")
MAX_ROW_ID = 2**31 - 1  # what papers.id holds: a larger number names no paper
PAPERS_PREFIX = "/papers/"


@dataclass(frozen=True, slots=True)
class PaperRef:
    """What a /papers/ address names: a bare arXiv id or a row id (exactly one is set)."""

    arxiv_id: str | None = None
    row_id: int | None = None
    canonical: bool = True  # False: the address works but redirects (versioned id, bare number)


def paper_slug(arxiv_id: str | None, row_id: int) -> str:
    return arxiv_id if arxiv_id else f"p-{row_id}"


def paper_path(arxiv_id: str | None, row_id: int) -> str:
    return PAPERS_PREFIX + paper_slug(arxiv_id, row_id)


def parse_ref(slug: str) -> PaperRef | None:
    """The paper SLUG names, or None when it cannot name one."""
    found = ARXIV_ID.fullmatch(slug)
    if found:
        return PaperRef(arxiv_id=found[1], canonical=found[2] is None)
    row = ROW_SLUG.fullmatch(slug)
    if row and int(row[1]) <= MAX_ROW_ID:
        return PaperRef(row_id=int(row[1]), canonical=slug.startswith("p-"))
    return None
