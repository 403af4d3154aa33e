"""Per-paper fragments rendered once and reused by the plain (Jinja) render, the reference the
spliced render is checked against and its fallback: a batch rendered with the cache is byte for byte
the batch rendered without it, whatever the readers share and whatever they don't."""

from __future__ import annotations

import random
from dataclasses import replace

import jinja2
import pytest

from service.rendering import DigestContext, DigestPaper, EmailRenderer
from service.rendering.digest import paper_view, render_digest_plain
from service.rendering.fragments import FragmentCache
from tests.service.rendering.samples import digest, paper

TERMS = ["quantization", "agents", "outlier", "speculative decoding", "memory", "benchmarks"]


def reader_papers(rng: random.Random, reader: int) -> list[DigestPaper]:
    """Six of twelve papers, each with this reader's highlights, reasons, votes and marks."""
    shown = []
    for i in rng.sample(range(12), 6):
        terms = tuple(rng.sample(TERMS, rng.randint(0, 2)))
        base = paper(i, terms=terms)
        shown.append(replace(
            base,
            ai_summary="Rotating before rounding removes outliers." if i % 3 == 0 else None,
            why=[f"“{t}” in the abstract" for t in terms],
            more_url=f"https://papermail.test/vote/r{reader}.{i}.up" if reader % 2 else None,
            less_url=f"https://papermail.test/vote/r{reader}.{i}.down" if reader % 2 else None,
            marks=("now trending",) if (reader + i) % 5 == 0 else (),
        ))  # fmt: skip
    return shown


def batch(n: int = 60) -> list[DigestContext]:
    rng = random.Random(7)
    return [digest(recipient=f"reader{r}@example.org", papers=reader_papers(rng, r)) for r in range(n)]


def render_all(renderer: EmailRenderer, contexts: list[DigestContext], cached: bool) -> list[tuple[str, str, str]]:
    for env in (renderer._html_env, renderer._text_env):
        env.fragments_enabled = cached  # type: ignore[attr-defined]
    out = [render_digest_plain(ctx, renderer) for ctx in contexts]
    return [(r.subject, r.html, r.text) for r in out]


def test_a_batch_renders_the_same_with_and_without_the_cache() -> None:
    contexts = batch()
    renderer = EmailRenderer()
    cached = render_all(renderer, contexts, cached=True)
    assert 0 < len(renderer._html_env.fragments) < 6 * len(contexts)  # type: ignore[attr-defined]  # papers were shared
    fresh = render_all(EmailRenderer(), contexts, cached=False)
    again = render_all(renderer, contexts, cached=True)  # every fragment now comes from the cache
    assert cached == fresh == again


def test_the_same_paper_keeps_each_readers_highlights_votes_and_marks() -> None:
    plain_one = paper(0, terms=())
    marked = paper(0, terms=("quantization",))
    voted = replace(plain_one, more_url="https://papermail.test/vote/x.up", less_url="https://papermail.test/vote/x.down",
                    marks=("code released",))  # fmt: skip
    renderer = EmailRenderer()
    first, second, third = (render_digest_plain(digest(papers=[p]), renderer) for p in (plain_one, marked, voted))
    assert "<mark>" not in first.html and "<mark>" in second.html
    assert "vote/x.up" in third.html and "code released" in third.html and "vote/x.up" not in first.html
    assert "vote/x.up" in third.text and "[code released]" in third.text


def test_two_templates_fragments_with_equal_keys_do_not_share_output() -> None:
    env = jinja2.Environment(extensions=[FragmentCache])
    one = env.from_string("{% cache k %}one {{ k }}{% endcache %}")
    two = env.from_string("{% cache k %}two {{ k }}{% endcache %}")
    assert [one.render(k=1), two.render(k=1), one.render(k=1), one.render(k=2)] == ["one 1", "two 1", "one 1", "one 2"]


@pytest.mark.parametrize("terms", [(), ("quantization",), ("agents", "outlier")])
def test_paper_view_is_the_same_from_the_cache_and_without_it(terms: tuple[str, ...]) -> None:
    p = paper(1, terms=terms)
    cached = paper_view(p), paper_view(replace(p, more_url="https://papermail.test/vote/y"))
    assert cached[0] == paper_view(p) and cached[1].more_url == "https://papermail.test/vote/y"
    assert cached[0].title_marked == cached[1].title_marked and bool(terms) == ("<mark>" in cached[0].snippet.html)


def test_cached_fragments_escape_as_before() -> None:
    hostile = paper(2, title="<script>alert(1)</script> & Co", terms=())
    renderer = EmailRenderer()
    first, second = (render_digest_plain(digest(papers=[hostile]), renderer) for _ in range(2))
    assert first == second and "<script>" not in first.html and "&lt;script&gt;" in first.html
    assert "&amp;amp;" not in first.html and "<script>alert(1)</script> & Co" in first.text
