"""The digest in a real browser (Debian's Chromium): readable on a phone and a desktop, no
horizontal scroll. Screenshots land in test-artifacts/ for a human to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.rendering import render_digest
from tests.service.rendering.samples import digest, paper
from tests.support.browser import ARTIFACTS

pytestmark = pytest.mark.integration




def _digest_html() -> str:
    papers = [paper(i) for i in range(24)]
    # Unbreakable words and a long URL in the text: the usual causes of horizontal scroll.
    long_word = "Supercalifragilistic" * 6
    papers.insert(
        3,
        paper(
            3,
            title=f"Scaling {long_word} Transformers",
            abstract=f"Code at https://example.org/{'very-long-path/' * 8} and {long_word}.",
        ),
    )
    return render_digest(digest(papers=papers)).html


@pytest.mark.parametrize("width", [375, 600])
def test_digest_fits_the_viewport_without_horizontal_scroll(browser, width: int) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.set_content(_digest_html(), wait_until="load")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        inner_width = page.evaluate("window.innerWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"digest-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        # The papers are really there and laid out, not an empty page that trivially fits.
        assert page.locator("a.title").count() == 25
        assert page.locator("mark").count() > 25
        assert page.evaluate("document.body.scrollHeight") > 3000
    finally:
        page.close()
    assert scroll_width <= inner_width, f"{scroll_width}px wide content in a {inner_width}px viewport"
    assert Path(shot).stat().st_size > 10_000
