"""A paper of one reader's digest, made straight from what its readers share.

Readers of a paper whose reasons for it are equal see the same block but for their vote links and
marks: the paper's fields (``Unmarked``), its highlighted title and snippet, the "Why:" line. So a
:class:`PaperBlock` holds those once (service.digests.compose keeps one per paper as shown, topic
names and ``Reasons``), with its part of the spliced render's shape key, and a :class:`ReaderPaper`
is a block plus the reader's links and marks: no DigestPaper and no PaperView per reader and paper.
A ReaderPaper reads as a PaperView (the templates' names, for the splicer's first render of a shape,
whose stand-ins have no ``shown_id``: that is the plain render's fragment key) and gives back the
DigestPaper it stands for (``reference``), which the plain render shows the reference way
(tests/service/rendering/test_splice.py renders both and compares them byte for byte).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from service.rendering.digest import DigestPaper, Unmarked, heading, marked, unmarked
from service.rendering.digest_splice import block_shape, reader_shape
from service.rendering.snippet import Highlighted, Span


@dataclass(slots=True, eq=False)
class PaperBlock:
    """What one paper shows every reader whose reasons for it are equal."""

    unmarked: Unmarked
    title_marked: Highlighted
    snippet: Highlighted
    reason: str
    matched_terms: Sequence[str]
    matched_topics: Sequence[str]
    # The DigestPaper it stands for, without a reader's votes and marks (made only when asked: the
    # plain render, a test).
    reference: Callable[[], DigestPaper]
    shape: tuple[Any, ...]  # digest_splice.block_shape
    tail: tuple[Any, ...]


def paper_block(u: Unmarked, title_spans: Sequence[Span], abstract_spans: Sequence[Span], reason: str,
                matched_terms: Sequence[str], matched_topics: Sequence[str],
                reference: Callable[[], DigestPaper]) -> PaperBlock:
    """The block of a paper shown as U with these spans (indexing its raw title and abstract) and
    reason; REFERENCE makes the same paper as a DigestPaper (without votes and marks)."""
    title_marked, marked_snippet = marked(u, title_spans, abstract_spans)
    shape, tail = block_shape(u.unmarked_id, reason, title_marked.html, title_marked.text, marked_snippet.html,
                              marked_snippet.text)
    return PaperBlock(u, title_marked, marked_snippet, reason, matched_terms, matched_topics, reference, shape, tail)


def block_of(paper: DigestPaper) -> PaperBlock:
    """PAPER's block (its votes and marks left out): what compose builds from a match, from a
    DigestPaper instead (the tests', the benches')."""
    u = unmarked(paper.title, paper.url, tuple(paper.authors), paper.organization, paper.upvotes,
                 tuple(paper.topics), paper.abstract, paper.pdf_url, paper.code_url, paper.project_url,
                 paper.ai_summary)  # fmt: skip
    bare = dataclasses.replace(paper, more_url=None, less_url=None, marks=())
    return paper_block(u, tuple(paper.title_spans), tuple(paper.abstract_spans), paper.reason,
                       tuple(paper.matched_terms), tuple(paper.matched_topics),
                       lambda: dataclasses.replace(bare))


@dataclass(slots=True, eq=False)
class ReaderPaper:
    """A block and the reader's own: their 👍 / 👎 links and the paper's marks for them."""

    block: PaperBlock
    more_url: str | None = None
    less_url: str | None = None
    marks: tuple[str, ...] = ()

    def view(self) -> ReaderPaper:
        return self  # it reads as a PaperView

    def reference(self) -> DigestPaper:
        """The DigestPaper this stands for: what the plain render shows."""
        paper = self.block.reference()
        paper.more_url, paper.less_url, paper.marks = self.more_url, self.less_url, self.marks
        return paper

    def spliced_shape(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        block, marks = self.block, self.marks
        return reader_shape(block.shape, block.tail, marks, heading(marks, block.unmarked.title), self.more_url,
                            self.less_url)

    # PaperView's names, for the templates (a shape's first render) and the digest's summary.
    @property
    def heading(self) -> str:
        return heading(self.marks, self.block.unmarked.title)

    @property
    def title_marked(self) -> Highlighted:
        return self.block.title_marked

    @property
    def snippet(self) -> Highlighted:
        return self.block.snippet

    @property
    def reason(self) -> str:
        return self.block.reason

    @property
    def matched_terms(self) -> Sequence[str]:
        return self.block.matched_terms

    @property
    def matched_topics(self) -> Sequence[str]:
        return self.block.matched_topics

    # The paper's own fields (digest_splice.SHARED), which only a shape's first render reads.
    @property
    def title(self) -> str:
        return self.block.unmarked.title

    @property
    def url(self) -> str | None:
        return self.block.unmarked.url

    @property
    def authors(self) -> str:
        return self.block.unmarked.authors

    @property
    def organization(self) -> str | None:
        return self.block.unmarked.organization

    @property
    def byline(self) -> str:
        return self.block.unmarked.byline

    @property
    def upvotes(self) -> int:
        return self.block.unmarked.upvotes

    @property
    def topics(self) -> tuple[str, ...]:
        return self.block.unmarked.topics

    @property
    def tagline(self) -> str:
        return self.block.unmarked.tagline

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        return self.block.unmarked.links

    @property
    def summary(self) -> str | None:
        return self.block.unmarked.summary

    @property
    def unmarked_id(self) -> int:
        return self.block.unmarked.unmarked_id
