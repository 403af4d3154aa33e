"""What "a term matches" means (service.matching.terms), pinned as a table on both
implementations: the TermSet the index and the topic classifier use, and the reference regex."""

from __future__ import annotations

import pytest

from service.matching.terms import TermSet, fold, normalise_author, occurrences, parse_term, singular, tokenize
from tests.service.matching.reference import term_regex


def fast(keyword: str, text: str) -> list[str]:
    term = parse_term(keyword)
    assert term is not None
    return [text[a:b] for a, b in occurrences(term, tokenize(text))]


def regex(keyword: str, text: str) -> list[str]:
    return [text[m.start() : m.end()] for m in term_regex(keyword)[0].finditer(fold(text))]


both = pytest.mark.parametrize("found", [fast, regex], ids=["termset", "reference"])

TABLE = [
    # case-insensitive, whole words
    ("llm", "LLMs and an LLM, not llmish or xLLM", ["LLMs", "LLM"]),
    ("Transformer", "transformers; TRANSFORMER", ["transformers", "TRANSFORMER"]),
    ("agent", "Multi-Agent systems, agents, reagents", ["Agent", "agents"]),
    # plurals both ways: the term's own plural ending is dropped first
    ("LLMs", "an LLM, two LLMs, the LLM's output", ["LLM", "LLMs", "LLM"]),
    ("agents", "one agent", ["agent"]),
    ("language models", "a Language Model", ["Language Model"]),
    ("policy", "policies and a policy", ["policies", "policy"]),
    ("bounding boxes", "a bounding box", ["bounding box"]),
    ("bus", "buses and busses", ["buses"]),
    ("KV caches", "a KV cache", ["KV cache"]),
    ("patches", "one patch", ["patch"]),
    # words that only look plural keep their s
    ("analysis", "an analysis, not analysi", ["analysis"]),
    ("dynamics", "training dynamics, not dynamic", ["dynamics"]),
    ("news", "news, not new", ["news"]),
    # hyphen, space or nothing between the words
    ("pre-training", "Pretraining, pre training, PRE-TRAINING, pre-trained", ["Pretraining", "pre training", "PRE-TRAINING"]),
    ("pretraining", "large-scale pre-training", ["pre-training"]),
    ("pre training", "pretraining", ["pretraining"]),
    ("multi-agent", "multi agent, multiagent, Multi-Agents", ["multi agent", "multiagent", "Multi-Agents"]),
    ("KV cache", "KV-cache, kv caches and KVCache", ["KV-cache", "kv caches", "KVCache"]),
    ("mixture of experts", "Mixture-of-Experts and mixture\nof   experts", ["Mixture-of-Experts", "mixture\nof   experts"]),
    ("large language", "large, language", []),
    ("language model", "language modeling", []),
    # phrases in quotes: the quotes go, the phrase stays one term
    ('"KV cache"', "a KV cache", ["KV cache"]),
    ("'mixture of experts'", "sparse mixture of experts", ["mixture of experts"]),
    # LaTeX markup joins words like whitespace does
    ("alpha-divergence", r"an $\alpha$-divergence bound", [r"alpha$-divergence"]),
    ("alpha", r"$\alpha$ and alphabet", ["alpha"]),
    # other punctuation inside a term must be there in the text too
    ("GPT-3.5", "GPT-3.5, GPT 3.5, GPT3.5 and GPT-3,5", ["GPT-3.5", "GPT 3.5", "GPT3.5"]),
    ("bird's-eye view", "a bird's eye view, a birds-eye view", ["bird's eye view"]),
    ("C++", "C and C++", ["C", "C"]),
    # non-overlapping, left to right, like re.finditer
    ("data data", "data data data data", ["data data", "data data"]),
    # unicode letters and case folding that keeps lengths
    ("straße", "STRAẞE und Strasse", ["STRAẞE"]),
    ("ΣΟΦΊΑ", "σοφία", ["σοφία"]),
    ("naïve", "naive naïve", ["naïve"]),
    # underscores separate words
    ("snake", "snake_case", ["snake"]),
]


@both
@pytest.mark.parametrize(("keyword", "text", "expected"), TABLE, ids=[f"{k}|{t[:20]}" for k, t, _ in TABLE])
def test_term_occurrences(found, keyword: str, text: str, expected: list[str]) -> None:
    assert found(keyword, text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [("pre-training", "pretraining"), ("LLMs", "llm"), ('"KV cache"', "kv-cache"), ("agents", "Agent"), ("policies", "policy")],
)
def test_spellings_of_one_term_are_one_key(a: str, b: str) -> None:
    # what Preferences uses to drop a keyword typed twice
    assert parse_term(a) == parse_term(b)


@pytest.mark.parametrize(
    ("word", "raw", "expected"),
    [
        ("llms", "LLMs", "llm"),
        ("gpus", "GPUs", "gpu"),
        ("models", "models", "model"),
        ("strategies", "strategies", "strategy"),
        ("losses", "losses", "loss"),
        ("approaches", "approaches", "approach"),
        ("caches", "caches", "cache"),
        ("sizes", "sizes", "size"),
        ("meshes", "meshes", "mesh"),
        ("corpus", "corpus", "corpus"),
        ("robotics", "robotics", "robotics"),
        ("uses", "uses", "uses"),
        ("bias", "bias", "bias"),
    ],
)
def test_singular(word: str, raw: str, expected: str) -> None:
    assert singular(word, raw) == expected


def test_positions_index_the_original_string() -> None:
    text = "İstanbul: ẞ-Transformers for ΣΟΦΊΑ"
    term = parse_term("transformer")
    assert term is not None
    [(start, end)] = occurrences(term, tokenize(text))
    assert text[start:end] == "Transformers"
    assert len(fold(text)) == len(text)


def test_texts_without_words_have_no_tokens() -> None:
    for text in ("", "  ", "$$ -- ;"):
        toks = tokenize(text)
        assert toks.words == toks.spans == toks.gaps == ()


def test_terms_without_word_characters_are_not_terms() -> None:
    assert parse_term("$$ -- ;") is None
    term = parse_term("  C++ ")
    assert term is not None and term.key == "c" and not term.is_phrase
    phrase = parse_term("KV cache")
    assert phrase is not None and phrase.is_phrase


def test_a_term_set_finds_each_term_on_its_own() -> None:
    terms = [parse_term(t) for t in ("language model", "large language model", "model")]
    found = TermSet(t for t in terms if t is not None).find(tokenize("a large language model, two models"))
    # overlapping terms are each reported; each term's own occurrences never overlap
    assert found == {0: [(2, 3)], 1: [(1, 3)], 2: [(3, 3), (5, 5)]}


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
