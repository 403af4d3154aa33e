"""Digests that read well: the AI summary first, a short highlighted snippet, LaTeX as plain text,
marks on later news, the day's status line, and the archive and feed in the footer, in both the
HTML and the text part."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from service.rendering import DigestPaper, EmailRenderer, RenderedEmail, render_digest
from tests.service.rendering.samples import digest, paper, spans_of

SUMMARY = "Rotating activations before rounding removes outlier channels, so 4-bit LLMs keep their accuracy."


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer()


def flat(text: str) -> str:
    return " ".join(text.split())


def both(result: RenderedEmail) -> tuple[str, str]:
    return result.html, flat(result.text)


def test_the_ai_summary_comes_first_then_a_short_highlighted_snippet(renderer: EmailRenderer) -> None:
    with_summary = replace(paper(0), ai_summary=SUMMARY)
    result = render_digest(digest(papers=[with_summary, paper(1)]), renderer)
    html, text = both(result)
    for part in (html, text):
        assert part.count(SUMMARY) == 1
        assert part.index(SUMMARY) < part.index("post-training") < part.index("PDF")  # summary, then snippet
    # a short taste of the abstract under a summary (25 words), a longer one without (45)
    first, second = text.split(" 2. ")
    under_summary = first.split(SUMMARY)[1].split("PDF:")[0].split()
    alone = second.split("▲ 94 · Agents")[1].split("PDF:")[0].split()
    assert len(under_summary) < len(alone) <= 50 and len(under_summary) <= 30
    assert "<mark>quantization</mark>" in html.split("AgentBench-Live")[0]  # still highlighted


def test_snippet_moves_to_the_first_hit_when_it_is_far_into_the_abstract(renderer: EmailRenderer) -> None:
    hit = replace(paper(0, terms=("kernels",)), ai_summary=SUMMARY)
    html, text = both(render_digest(digest(papers=[hit]), renderer))
    assert "<mark>kernels</mark>" in html and "kernels" in text
    assert "… " in text  # the window moved into the abstract


def test_latex_from_rows_stored_before_cleaning_is_readable_in_both_parts(renderer: EmailRenderer) -> None:
    title = r"Removing the $\ln\ln T$ Term with $\mathcal{O}(2^{n})$ Experts"
    abstract = r"We \emph{prove} a bound of $2^{n}$ with $\alpha$-mixing and \textbf{no} tuning."
    raw = DigestPaper(title=title, url="https://example.org/p", abstract=abstract,
                      title_spans=spans_of(title, "Experts"), abstract_spans=spans_of(abstract, "bound"),
                      ai_summary=r"A bound of $2^{n}$ in \emph{one} line.", matched_terms=["bound"])
    result = render_digest(digest(papers=[raw]), renderer)
    for part in both(result):
        assert "Removing the ln ln T Term with O(2^n) Experts" in part
        assert "We prove a bound of 2^n with α-mixing and no tuning." in part
        assert "A bound of 2^n in one line." in part
        assert "$" not in part.split("Your papers for")[1] and "\\emph" not in part and "\\mathcal" not in part
    assert "ln ln T Term" in result.subject and "$" not in result.subject


def test_later_news_is_marked_in_both_parts(renderer: EmailRenderer) -> None:
    marked = replace(paper(0), marks=("now trending", "code released"))
    result = render_digest(digest(papers=[marked, paper(1)]), renderer)
    html, text = both(result)
    # Two badges with a space between them: they do not run together when <style> is dropped.
    assert re.search(r'<span style="[^"]*">now trending</span> <span style="[^"]*">code released</span>', html)
    assert "1. [now trending] [code released] Rotate, Then Round" in text
    assert text.count("[now trending]") == 1  # only the paper that is later news


@pytest.mark.parametrize("papers", [1, 0])
def test_the_days_status_is_one_line_in_both_parts(renderer: EmailRenderer, papers: int) -> None:
    line = "Hugging Face could not be reached since 06:00 UTC; these are arXiv's papers."
    ctx = replace(digest(papers=[paper(0)][:papers]), status=line)
    html, text = both(render_digest(ctx, renderer))
    assert html.count(line.replace("'", "&#39;")) == 1 and text.count(line) == 1
    assert html.index("Your papers for") < html.index(line.replace("'", "&#39;"))
    plain = render_digest(digest(papers=[paper(0)][:papers]), renderer)
    assert "#d97706" not in plain.html  # the status box's border: no empty box either


def test_footer_links_to_the_archive_and_the_personal_feed(renderer: EmailRenderer) -> None:
    ctx = digest(2)
    ctx = replace(ctx, links=replace(ctx.links, archive_url="https://papermail.test/archive/A",
                                     feed_url="https://papermail.test/feed/F"))
    html, text = both(render_digest(ctx, renderer))
    assert re.search(r'<a href="https://papermail.test/archive/A" style="[^"]*">Past digests</a>', html)
    assert re.search(r'<a href="https://papermail.test/feed/F" style="[^"]*">Your feed</a>', html)
    assert "Past digests: https://papermail.test/archive/A" in text
    assert "Your feed: https://papermail.test/feed/F" in text
