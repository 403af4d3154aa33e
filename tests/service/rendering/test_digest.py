from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

import pytest
from markupsafe import escape

from service.rendering import (
    DigestPaper,
    EmailRenderer,
    RenderedEmail,
    reason_text,
    render_digest,
)
from service.rendering.digest import authors_line
from tests.service.rendering.samples import ABSTRACT, digest, paper, spans_of

GMAIL_CLIP_BYTES = 102 * 1024
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer()


@pytest.fixture(scope="module")
def rendered(renderer: EmailRenderer) -> RenderedEmail:
    return render_digest(digest(5), renderer)


def test_subject_names_the_best_paper_the_count_and_the_day(rendered: RenderedEmail) -> None:
    # "Rotate, Then Round: Outlier-Free Post-Training Quantization for Large Language Models" is
    # too long beside the rest: it is cut after a whole word, the count and date stay whole.
    assert rendered.subject.endswith(" and 4 more papers for you — Nov 27")
    assert rendered.subject.startswith("Rotate, Then Round: Outlier-Free")
    assert len(rendered.subject) <= 78
    title = rendered.subject.removesuffix(" and 4 more papers for you — Nov 27")
    assert title.endswith("…") and paper(0).title.startswith(title[:-1])
    assert paper(0).title[len(title) - 1] == " "  # cut where a word ended, never inside one


def test_a_short_best_title_is_named_whole(renderer: EmailRenderer) -> None:
    best = replace(paper(0), title="FlashAttention-4")
    subject = render_digest(digest(papers=[best, *(paper(i) for i in range(1, 10))]), renderer).subject
    assert subject == "FlashAttention-4 and 9 more papers for you — Nov 27"
    one = render_digest(digest(papers=[best]), renderer).subject
    assert one == "1 paper for you: FlashAttention-4 — Nov 27"


@pytest.mark.parametrize("count", [1, 2, 12, 150])
@pytest.mark.parametrize("title", [
    "x" * 200,  # one word longer than the whole subject: the one case cut inside
    "Scaling " * 30,
    "A Very Long Title Whose Words Are Each Of A Different Length, Ending In Supercalifragilistic",
])
def test_subject_always_fits_and_keeps_count_and_date(renderer: EmailRenderer, count: int, title: str) -> None:
    papers = [replace(paper(0), title=title), *(paper(i) for i in range(1, count))]
    subject = render_digest(digest(papers=papers), renderer).subject
    assert len(subject) <= 78 and subject.endswith("— Nov 27")
    assert (f"and {count - 1} more papers for you" if count > 1 else "1 paper for you:") in subject
    lead = subject.split(" and ")[0] if count > 1 else subject.removeprefix("1 paper for you: ").split(" — ")[0]
    words = " ".join(title.split()).split(" ")
    kept = lead.removesuffix("…").split(" ")
    if len(words[0]) < 70:  # whole words only
        assert kept == words[: len(kept)]


def test_subject_with_a_hostile_title_is_one_clean_line(renderer: EmailRenderer) -> None:
    title = "evil\r\nBcc: victim@example.org " + "x" * 100
    subject = render_digest(digest(papers=[replace(paper(0), title=title)]), renderer).subject
    assert len(subject) <= 78 and subject.endswith("— Nov 27")
    assert "\r" not in subject and "\n" not in subject
    assert subject.startswith("1 paper for you: evil Bcc: victim@example.org…")


def test_header_says_how_many_and_why(rendered: RenderedEmail) -> None:
    for part in (rendered.html, " ".join(rendered.text.split())):
        assert "Your papers for Thursday, November 27, 2025" in part
        assert (
            "5 papers matched your interests: quantization (5), agents (5), Efficient inference (3)." in part
        )


def test_each_paper_shows_its_facts_in_both_parts(rendered: RenderedEmail) -> None:
    first = paper(0)
    # The compiled template is ASCII: its "▲" is a character reference, hence the unescape.
    for part in (unescape(rendered.html), rendered.text):
        assert "https://huggingface.co/papers/2511.10000" in part
        assert "Example AI Lab" in part and "▲ 97" in part and "Efficient inference" in part
        assert (
            "https://arxiv.org/pdf/2511.10000" in part and "https://github.com/example/rotate-round" in part
        )
        assert "Ada Lovelace, Alan Turing, Grace Hopper et al." in part  # paper 3 has 4 authors
    assert f'<a class="title" href="{first.url}" style="' in rendered.html
    assert "Why: matched “quantization”, “agents”, topic Efficient inference" in rendered.html
    assert "Why: matched “quantization”, “agents”, topic Efficient" in rendered.text  # wrapped


def test_matched_terms_are_highlighted_in_title_and_snippet(rendered: RenderedEmail) -> None:
    assert "Post-Training <mark>Quantization</mark> for" in rendered.html
    assert "post-training <mark>quantization</mark> for models" in rendered.html
    assert "<mark>" not in rendered.text


def test_footer_has_the_links_why_and_postal_address(rendered: RenderedEmail) -> None:
    for part in (rendered.html, rendered.text):
        for url in ("preferences/TOKEN", "unsubscribe/TOKEN", "digest/TOKEN"):
            assert f"https://papermail.test/{url}" in part
        assert "You get this email because alice@example.org subscribed" in part.replace("\n", " ")
        assert "papermail, 1 Example Street, 00000 Example City" in part


def test_preheader_is_hidden_at_the_top_of_the_html(rendered: RenderedEmail) -> None:
    assert rendered.preheader.startswith("Rotate, Then Round") and rendered.preheader.endswith("+ 4 more")
    hidden = re.search(r'<div style="display:none;[^"]*">([^<]*)', rendered.html)
    assert hidden is not None and hidden.group(1).startswith(rendered.preheader)


@pytest.mark.parametrize("title", [SCRIPT, IMG, f"Agents {SCRIPT} and {IMG} & <b>co</b>"])
def test_hostile_title_is_escaped_in_html_and_verbatim_in_text(renderer: EmailRenderer, title: str) -> None:
    hostile = replace(paper(1, title=title), organization=title, topics=[title], title_spans=())
    result = render_digest(digest(papers=[hostile]), renderer)
    assert "<script" not in result.html.lower() and "<img" not in result.html.lower()
    assert "<b>co" not in result.html
    # title, organisation, topic chip, preheader, and the subject that names it (<title>, aria-label)
    # unless the subject had to cut it short
    named = 2 if title in result.subject else 0
    assert result.html.count(str(escape(title))) == 4 + named
    assert result.html.count(str(escape(result.subject))) == 2  # the subject, escaped, however cut
    assert title in " ".join(result.text.split())  # plain text shows it as it is: harmless there


def test_feed_urls_other_than_http_never_become_links(renderer: EmailRenderer) -> None:
    bad = replace(
        paper(0), url="javascript:alert(1)", code_url="data:text/html,x", pdf_url=" http://ok.example/p.pdf"
    )
    result = render_digest(digest(papers=[bad]), renderer)
    assert "javascript:" not in result.html and "data:text" not in result.html
    assert 'href="http://ok.example/p.pdf"' in result.html
    assert '<span class="title" style="' in result.html  # title shown, unlinked


def test_highlight_spans_survive_escaping_of_ampersands_and_angle_brackets(renderer: EmailRenderer) -> None:
    title = "R&D <for> agents & a<b>c"
    abstract = "We test x<y && y>z with agents; <agents> too."
    one = DigestPaper(
        title=title,
        url="https://example.org/p",
        abstract=abstract,
        title_spans=spans_of(title, "agents", "a<b"),
        abstract_spans=spans_of(abstract, "agents", "x<y"),
        matched_terms=["agents"],
    )
    result = render_digest(digest(papers=[one]), renderer)
    assert "R&amp;D &lt;for&gt; <mark>agents</mark> &amp; <mark>a&lt;b</mark>&gt;c" in result.html
    assert (
        "We test <mark>x&lt;y</mark> &amp;&amp; y&gt;z with <mark>agents</mark>; &lt;<mark>agents</mark>&gt; too."
        in result.html
    )
    assert title in result.text and abstract in result.text


def test_no_mjml_or_jinja_left_in_any_part(rendered: RenderedEmail) -> None:
    for part in (rendered.html, rendered.text, rendered.subject):
        assert "<mj-" not in part and "{{" not in part and "{%" not in part and "}}" not in part


def test_25_papers_with_long_everything_stay_under_gmails_clipping_size(renderer: EmailRenderer) -> None:
    long_abstract = " ".join([ABSTRACT] * 3)  # ~500 words; only a snippet is shown
    papers = [
        replace(
            paper(i, abstract=long_abstract),
            title=f"{paper(i).title}: A Much Longer Subtitle About Scaling, Agents and Quantization, Part {i}",
            authors=[f"Author Number{j} Surname{j}" for j in range(30)],
            organization="The Long-Named Institute for Artificial Intelligence Research",
            topics=("Efficient inference", "LLMs", "Agents", "ML systems", "Evaluation"),
            project_url=f"https://example.org/projects/a-long-project-page-path/{i}",
            code_url=f"https://github.com/example-organisation/a-rather-long-repository-name-{i}",
        )
        for i in range(25)
    ]
    result = render_digest(digest(papers=papers), renderer)
    size = len(result.html.encode())
    assert result.html.count('<a class="title"') == 25
    assert size <= GMAIL_CLIP_BYTES, f"{size} bytes"


def test_empty_digest_renders_a_polite_note(renderer: EmailRenderer) -> None:
    result = render_digest(digest(papers=[]), renderer)
    assert "Nothing new matched your topics this time." in result.html
    assert result.subject == "No new papers this time — Nov 27"


def test_reason_text_and_authors_line() -> None:
    assert reason_text(["quantization"], ["Efficient inference"], [], False) == (
        "matched “quantization”, topic Efficient inference"
    )
    assert reason_text([], [], ["Grace Hopper"], False) == "by followed author Grace Hopper"
    assert reason_text([], [], [], True) == "trending on Hugging Face"
    assert authors_line(["A", "B", "C"]) == "A, B, C"
    assert authors_line(["A", "B", "C", "D"]) == "A, B, C et al."


def test_no_remote_fonts_or_other_third_party_fetches() -> None:
    """A digest loads nothing from third parties when opened (privacy; MJML adds Google Fonts
    links for some font names)."""
    from service.rendering import render_digest
    from tests.service.rendering.samples import digest

    html = render_digest(digest(3)).html
    assert "fonts.googleapis" not in html
    assert "@import" not in html


def test_a_ten_paper_digest_is_at_most_20_kb_of_html(renderer: EmailRenderer) -> None:
    # Issue 17's diet: one card section, the papers in one mj-text, styles inlined once. Every
    # byte is hashed by DKIM, sent and parsed; the session-start layout was 28 KB here.
    html = render_digest(digest(10), renderer).html
    assert len(html.encode()) <= 20 * 1024
    assert html.count('<a class="title"') == 10
    assert html.count("margin:0px auto") == 1  # one section, not one per block
