"""Merging records of one paper from several sources (pure)."""

from __future__ import annotations

from service.ingest.merge import fold_duplicates, merge_changes, new_row
from service.papers import PaperIn

ARXIV = PaperIn(
    uid="arxiv:2606.00467",
    arxiv_id="2606.00467",
    arxiv_version=1,
    title="On the Limits of LLM Adaptability",
    abstract="The arXiv abstract.",
    authors=["Etienne Casanova", "Rafal Kocielnik"],
    categories=["cs.CL", "cs.AI"],
    primary_category="cs.CL",
    abs_url="https://arxiv.org/abs/2606.00467",
    pdf_url="https://arxiv.org/pdf/2606.00467",
)
HF = PaperIn(
    uid="arxiv:2606.00467",
    arxiv_id="2606.00467",
    title="On the limits of LLM adaptability (HF spelling)",
    abstract="The HF summary.",
    authors=["Etienne Casanova"],
    upvotes=12,
    organization="Caltech",
    github_repo="https://github.com/example/limits",
    hf_url="https://huggingface.co/papers/2606.00467",
)


def test_new_row_records_its_source_and_zero_upvotes() -> None:
    row = new_row(ARXIV, "arxiv-ai")
    assert row["source_names"] == ["arxiv-ai"]
    assert row["upvotes"] == 0
    assert row["categories"] == ["cs.CL", "cs.AI"]


def test_hf_adds_social_fields_but_keeps_arxivs_record() -> None:
    changes = merge_changes(new_row(ARXIV, "arxiv-ai"), HF, "hf_daily", "hf-daily")
    assert changes == {
        "upvotes": 12,
        "organization": "Caltech",
        "github_repo": "https://github.com/example/limits",
        "hf_url": "https://huggingface.co/papers/2606.00467",
        "source_names": ["arxiv-ai", "hf-daily"],
    }


def test_arxiv_overwrites_hf_bibliography_and_keeps_upvotes() -> None:
    changes = merge_changes(new_row(HF, "hf-daily"), ARXIV, "arxiv_api", "arxiv-ai")
    assert changes["title"] == ARXIV.title
    assert changes["abstract"] == ARXIV.abstract
    assert changes["authors"] == ARXIV.authors
    assert changes["categories"] == ["cs.CL", "cs.AI"]
    assert changes["arxiv_version"] == 1
    assert "upvotes" not in changes


def test_latest_upvotes_win_even_when_lower() -> None:
    current = new_row(HF, "hf-daily")
    changes = merge_changes(current, HF.model_copy(update={"upvotes": 7}), "hf_daily", "hf-daily")
    assert changes == {"upvotes": 7}


def test_a_missing_value_never_erases() -> None:
    current = new_row(HF, "hf-daily")
    bare = PaperIn(uid=HF.uid, arxiv_id=HF.arxiv_id, title=HF.title)
    assert merge_changes(current, bare, "hf_daily", "hf-daily") == {}


def test_generic_feed_only_fills_blanks() -> None:
    current = new_row(HF, "hf-daily")
    from_blog = PaperIn(uid=HF.uid, title="A blog's title", categories=["blog"], upvotes=99)
    changes = merge_changes(current, from_blog, "feed", "blog")
    assert changes == {"categories": ["blog"], "source_names": ["hf-daily", "blog"]}


def test_version_only_moves_forward() -> None:
    current = new_row(ARXIV.model_copy(update={"arxiv_version": 3}), "arxiv-ai")
    assert "arxiv_version" not in merge_changes(current, ARXIV, "arxiv_api", "arxiv-ai")
    newer = ARXIV.model_copy(update={"arxiv_version": 4})
    assert merge_changes(current, newer, "arxiv_api", "arxiv-ai") == {"arxiv_version": 4}


def test_duplicates_in_one_batch_fold_into_one_record() -> None:
    first = ARXIV.model_copy(update={"categories": []})
    second = ARXIV.model_copy(update={"arxiv_version": 2})
    folded = fold_duplicates([first, second, HF.model_copy(update={"uid": "arxiv:1"})], "arxiv_rss")
    assert [p.uid for p in folded] == ["arxiv:2606.00467", "arxiv:1"]
    assert folded[0].arxiv_version == 2
    assert folded[0].categories == ["cs.CL", "cs.AI"]
