"""A stored paper as the pages show it: untrusted links dropped, thumbnails only from the CDN the
CSP allows, its day from its source, the AI summary as its one-liner (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from service.catalog.cards import THUMBNAIL_HOSTS, paper_card, paper_day, thumbnail_url
from service.storage.models import Paper, Topic
from service.web.security import DEFAULT_CSP

SEEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def a_paper(**fields: object) -> Paper:
    values: dict[str, object] = {
        "id": 5, "uid": "arxiv:2606.13392", "arxiv_id": "2606.13392", "title": "MiniMax Sparse Attention",
        "abstract": "We sparsify attention. It is fast.", "authors": ["A One", "B Two", "C Three", "D Four", "E Five"],
        "first_seen_at": SEEN, "upvotes": 103, "num_comments": 4, "organization": "MiniMax",
        "hf_url": "https://huggingface.co/papers/2606.13392", "abs_url": "https://arxiv.org/abs/2606.13392",
        "pdf_url": "https://arxiv.org/pdf/2606.13392", "github_repo": "javascript:alert(1)",
        "project_page": "https://example.org/minimax",
        "thumbnail": "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2606.13392.png",
        "ai_summary": "  Sparse attention, fast.  ", "ai_keywords": ["sparse attention", "MoE", "sparse attention"],
        "source_names": ["hf-daily", "arxiv-ai-lg-cl"], "announced_on": date(2026, 6, 12),
    }
    values.update(fields)
    return Paper(**values)


def test_a_card_has_what_the_front_page_shows() -> None:
    paper = a_paper()
    paper.topics = [Topic(id=2, slug="llm", name="Large language models", position=1),
                    Topic(id=1, slug="efficient-inference", name="Efficient inference", position=0)]
    card = paper_card(paper)
    assert (card.slug, card.path, card.day) == ("2606.13392", "/papers/2606.13392", date(2026, 6, 12))
    assert card.shown_authors == ("A One", "B Two", "C Three") and card.more_authors == 2
    assert card.one_liner == "Sparse attention, fast." and card.keywords == ("sparse attention", "MoE")
    assert card.topics == (("efficient-inference", "Efficient inference"), ("llm", "Large language models"))
    assert [label for label, _ in card.links] == ["Hugging Face", "arXiv", "PDF", "Project page"]  # no javascript:
    assert card.thumbnail and card.sources == ("hf-daily", "arxiv-ai-lg-cl")
    assert (card.upvotes, card.comments, card.organization) == (103, 4, "MiniMax")


def test_without_an_ai_summary_the_abstract_begins() -> None:
    assert paper_card(a_paper(ai_summary=None)).one_liner == "We sparsify attention"
    long = "word " * 100
    liner = paper_card(a_paper(ai_summary="", abstract=long)).one_liner
    assert len(liner) <= 281 and liner.endswith("…") and not liner.endswith(" …")


def test_the_day_falls_back_to_publication_then_first_sight() -> None:
    assert paper_day(a_paper(announced_on=None, published_at=datetime(2026, 5, 29, 23, 30, tzinfo=UTC))) \
        == date(2026, 5, 29)
    assert paper_day(a_paper(announced_on=None, published_at=None)) == date(2026, 12, 1)
    assert paper_card(a_paper(arxiv_id=None, id=42)).path == "/papers/p-42"


def test_thumbnails_only_from_the_hosts_the_csp_allows() -> None:
    for host in THUMBNAIL_HOSTS:
        assert f"https://{host}" in DEFAULT_CSP.split("img-src", 1)[1].split(";", 1)[0]
    assert thumbnail_url("https://cdn-thumbnails.huggingface.co/x.png")
    for url in ("http://cdn-thumbnails.huggingface.co/x.png", "https://evil.example/x.png",
                "https://cdn-thumbnails.huggingface.co.evil.example/x.png", "javascript:alert(1)",
                "https://cdn-thumbnails.huggingface.co:8443/x.png", "data:image/png;base64,AAAA", None, ""):
        assert thumbnail_url(url) is None, url


def test_junk_in_list_columns_is_shown_as_text() -> None:
    card = paper_card(a_paper(authors=["  ", "Real Name", 7], ai_keywords=None, source_names=None))
    assert card.authors == ("Real Name", "7") and card.keywords == () and card.sources == ()
