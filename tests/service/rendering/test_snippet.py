from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from service.rendering.snippet import highlight, merge_spans, snippet, term_spans


def test_escape_first_then_highlight_keeps_spans_on_the_original_characters() -> None:
    text = "Q&A <b>with</b> x>y & LLM-agents"
    spans = [(text.index("<b>"), text.index("<b>") + 3), (text.index("LLM"), text.index("LLM") + 3)]
    marked = highlight(text, spans).html
    assert str(marked) == "Q&amp;A <mark>&lt;b&gt;</mark>with&lt;/b&gt; x&gt;y &amp; <mark>LLM</mark>-agents"
    assert highlight(text, spans).text == text


def test_overlapping_and_touching_spans_merge_and_out_of_range_ones_drop() -> None:
    assert merge_spans([(5, 9), (0, 3), (2, 4), (9, 12), (40, 50), (7, 7)], 0, 20) == [(0, 4), (5, 12)]


def test_short_abstract_is_shown_whole_without_ellipsis() -> None:
    result = snippet("Agents plan with tools.", [(0, 6)])
    assert str(result.html) == "<mark>Agents</mark> plan with tools."
    assert not result.cut_start and not result.cut_end


def test_long_abstract_is_cut_to_sixty_words_with_an_ellipsis() -> None:
    text = " ".join(f"w{i}" for i in range(200))
    result = snippet(text, [(0, 2)])
    assert result.text.split() == [f"w{i}" for i in range(60)] + ["…"]


def test_window_moves_to_a_hit_far_into_the_abstract() -> None:
    words = [f"w{i}" for i in range(300)]
    words[150] = "quantization"
    text = " ".join(words)
    start = text.index("quantization")
    result = snippet(text, [(start, start + len("quantization"))])
    shown = result.text.split()
    assert shown[0] == "…" and shown[-1] == "…"
    assert len(shown) == 62 and shown.index("quantization") == 13  # 12 words of lead-in
    assert "<mark>quantization</mark>" in result.html


def test_window_near_the_end_still_shows_sixty_words() -> None:
    words = [f"w{i}" for i in range(100)]
    words[98] = "agents"
    text = " ".join(words)
    start = text.index("agents")
    result = snippet(text, [(start, start + 6)])
    assert result.text.split()[1:] == words[40:]
    assert result.cut_start and not result.cut_end


def test_newlines_in_abstract_collapse_to_spaces() -> None:
    result = highlight("line one\n  line\ttwo", [(11, 19)])
    assert str(result.html) == "line one <mark>line two</mark>"
    assert result.text == "line one line two"


@given(
    st.text(alphabet="ab &<>\"'\n", max_size=80),
    st.lists(st.tuples(st.integers(0, 80), st.integers(0, 80)), max_size=6),
)
def test_highlighted_html_unescapes_back_to_the_text_with_marks_on_the_spans(
    text: str, raw: list[tuple[int, int]]
) -> None:
    spans = [(min(a, b), max(a, b)) for a, b in raw]
    marked = str(highlight(text, spans).html)
    assert "<" not in re.sub(r"</?mark>", "", marked)  # only our tags survive
    # (HTML shows runs of whitespace as one space, so compare with whitespace collapsed)
    assert re.sub(r"\s+", " ", html.unescape(re.sub(r"</?mark>", "", marked))) == re.sub(r"\s+", " ", text)
    expected = [re.sub(r"\s+", " ", text[s:e]) for s, e in merge_spans(spans, 0, len(text))]
    assert [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", marked, flags=re.DOTALL)] == expected


def test_term_spans_highlight_exactly_what_the_term_rule_matches() -> None:
    text = "Pre-training LLMs with a KV-cache: pretraining, not reagents."
    spans = term_spans(text, ["pretraining", "LLM", "kv cache", "agent", "--"])
    assert [text[a:b] for a, b in spans] == ["Pre-training", "LLMs", "KV-cache", "pretraining"]
    assert str(highlight(text, spans).html).startswith("<mark>Pre-training</mark> <mark>LLMs</mark>")
    assert term_spans(text, []) == () and term_spans("", ["x"]) == ()
