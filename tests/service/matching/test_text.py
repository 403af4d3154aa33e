"""The whole-word rules of service.matching.text, pinned on both implementations."""

from __future__ import annotations

import pytest

from service.matching.reference import term_regex
from service.matching.text import fold, normalise_author, parse_term, term_occurrences, tokenize


def fast(keyword: str, text: str) -> list[str]:
    term = parse_term(keyword)
    assert term is not None
    return [text[a:b] for a, b in term_occurrences(term, tokenize(text))]


def regex(keyword: str, text: str) -> list[str]:
    return [text[m.start() : m.end()] for m in term_regex(keyword)[0].finditer(fold(text))]


both = pytest.mark.parametrize("found", [fast, regex], ids=["index", "reference"])


@both
@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        # whole words, case-insensitive
        ("llm", "LLMs and an LLM, not llmish or xLLM", ["LLMs", "LLM"]),
        ("Transformer", "transformers; TRANSFORMER", ["transformers", "TRANSFORMER"]),
        # plurals: trailing s / es on the last word only, one direction
        ("bus", "buses and busses", ["buses"]),
        ("transformers", "a transformer", []),
        ("language model", "Large Language Models", ["Language Models"]),
        ("languages model", "language models", []),
        # phrases span whitespace, newlines, hyphens and dashes, not other punctuation
        (
            "mixture of experts",
            "Mixture-of-Experts and mixture\nof   experts",
            ["Mixture-of-Experts", "mixture\nof   experts"],
        ),
        ("mixture-of-experts", "a mixture of experts", ["mixture of experts"]),
        ("large language", "large, language", []),
        # LaTeX markup joins words like whitespace does
        ("alpha-divergence", r"an $\alpha$-divergence bound", [r"alpha$-divergence"]),
        ("alpha", r"$\alpha$ and alphabet", ["alpha"]),
        # punctuation inside a term must be there in the text too
        ("GPT-3.5", "GPT-3.5, GPT 3.5 and GPT-3,5", ["GPT-3.5", "GPT 3.5"]),
        ("C++", "C and C++", ["C", "C"]),
        # non-overlapping, left to right, like re.finditer
        ("data data", "data data data data", ["data data", "data data"]),
        # unicode letters and case folding that keeps lengths
        ("straße", "STRAẞE und Strasse", ["STRAẞE"]),
        ("ΣΟΦΊΑ", "σοφία", ["σοφία"]),
        ("naïve", "naive naïve", ["naïve"]),
        # underscores separate words
        ("snake", "snake_case", ["snake"]),
    ],
)
def test_term_occurrences(found, keyword: str, text: str, expected: list[str]) -> None:
    assert found(keyword, text) == expected


def test_positions_index_the_original_string() -> None:
    text = "İstanbul: ẞ-Transformers for ΣΟΦΊΑ"
    term = parse_term("transformer")
    assert term is not None
    [(start, end)] = term_occurrences(term, tokenize(text))
    assert text[start:end] == "Transformers"
    assert len(fold(text)) == len(text)


def test_terms_without_word_characters_are_not_terms() -> None:
    assert parse_term("$$ -- ;") is None
    assert parse_term("  C++ ").words == ("c",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José  García", "jose garcia"),
        ("JOSE GARCIA", "jose garcia"),
        ("Zoë\tMüller", "zoe muller"),
        (" ", ""),
    ],
)
def test_normalise_author(raw: str, expected: str) -> None:
    assert normalise_author(raw) == expected
