"""A paper's address: /papers/<arXiv id> or /papers/p-<id>; other names of it redirect."""

from __future__ import annotations

import pytest

from service.catalog.slugs import PaperRef, paper_path, parse_ref


def test_paths() -> None:
    assert paper_path("2606.00467", 7) == "/papers/2606.00467"
    assert paper_path(None, 7) == "/papers/p-7"
    assert paper_path("hep-th/9901001", 7) == "/papers/hep-th/9901001"


@pytest.mark.parametrize("slug, ref", [
    ("2606.00467", PaperRef(arxiv_id="2606.00467")),
    ("2606.00467v3", PaperRef(arxiv_id="2606.00467", canonical=False)),
    ("0704.0001", PaperRef(arxiv_id="0704.0001")),
    ("hep-th/9901001", PaperRef(arxiv_id="hep-th/9901001")),
    ("math.GT/0309136v2", PaperRef(arxiv_id="math.GT/0309136", canonical=False)),
    ("p-28", PaperRef(row_id=28)),
    ("28", PaperRef(row_id=28, canonical=False)),  # the Atom feed's entry ids
])
def test_what_an_address_names(slug: str, ref: PaperRef) -> None:
    assert parse_ref(slug) == ref


@pytest.mark.parametrize("slug", ["", "p-", "p-x", "2606.123", "../etc/passwd", "99999999999", "p-2147483648",
                                  "2606.00467/extra", "<script>"])
def test_what_names_no_paper(slug: str) -> None:
    assert parse_ref(slug) is None
