from __future__ import annotations

import html
import random
import re

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from service.rendering.snippet import Highlighted, collapsed, highlight, merge_spans, snippet, term_spans


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


WHITESPACE = [chr(c) for c in range(0x110000) if re.fullmatch(r"\s", chr(c))]


def test_collapsed_is_the_regex_collapse_for_every_whitespace_character() -> None:
    rng = random.Random(4)
    pieces = ["a", "<", "&", "日", *WHITESPACE]
    texts = ["", " ", "  ", *(f"x{a}{b}y" for a in WHITESPACE for b in [*WHITESPACE, ""])]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    for text in texts:
        assert collapsed(text) == re.sub(r"\s+", " ", text), repr(text)


def per_run_html(marked: Highlighted) -> str:
    """Highlighted.html as it was made before: whitespace collapsed run by run."""
    parts = ["… " if marked.cut_start else ""]
    for text, hit in marked.runs:
        piece = str(escape(re.sub(r"\s+", " ", text)))
        parts.append(f"<mark>{piece}</mark>" if hit else piece)
    return "".join(parts) + (" …" if marked.cut_end else "")


def test_highlight_html_collapsed_once_equals_it_collapsed_run_by_run() -> None:
    rng = random.Random(8)
    pieces = ["ab", "c", " ", "  ", "\n", "\t", "\xa0", "\u2003", "<", "&", "'", "ü", "🚀", "x y", " \n "]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        spans = [(a, min(a + rng.randint(0, 6), len(text))) for a in (rng.randint(0, len(text)) for _ in range(4))]
        start = rng.randint(0, len(text))
        for marked in (highlight(text, spans), highlight(text, spans, start), snippet(text, spans, 14)):
            assert str(marked.html) == per_run_html(marked), (text, spans)


def test_merge_spans_clips_as_min_and_max_would() -> None:
    rng = random.Random(3)
    for _ in range(20000):
        spans = [(rng.randint(-3, 20), rng.randint(-3, 20)) for _ in range(rng.randint(0, 6))]
        start, end = rng.randint(-2, 22), rng.randint(-2, 22)
        clipped = sorted((max(s, start), min(e, end)) for s, e in spans if min(e, end) > max(s, start))
        expected: list[tuple[int, int]] = []
        for s, e in clipped:
            if expected and s <= expected[-1][1]:
                expected[-1] = (expected[-1][0], max(expected[-1][1], e))
            else:
                expected.append((s, e))
        assert merge_spans(spans, start, end) == expected, (spans, start, end)
