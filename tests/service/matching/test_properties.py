"""The vectorised path agrees exactly with the reference matcher on random papers and preferences.

Same paper ids, same order, same scores, same reasons (terms, fields and character spans),
with text full of what real abstracts hold: unicode, punctuation, LaTeX, hyphens, plurals and
overlapping phrases ("large language" and "language model"), words that join ("pre", "training").
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.matching import IndexedPaper, MatchRequest, PaperIndex, match_many
from service.matching.terms import fold, occurrences, parse_term, tokenize
from service.subscribers.preferences import Preferences
from tests.service.matching.factories import NOW
from tests.service.matching.reference import reference_match, term_regex

# A small vocabulary so that terms hit often: plural pairs, case and script variants, words
# that form overlapping phrases ("large language model"), LaTeX and numbers.
WORDS = [
    "large",
    "Large",
    "language",
    "languages",
    "model",
    "Models",
    "mixture",
    "of",
    "experts",
    "alpha",
    "divergence",
    "LLM",
    "LLMs",
    "bus",
    "buses",
    "BUSES",
    "data",
    "GPT",
    "3",
    "5",
    "naïve",
    "naive",
    "straße",
    "STRAẞE",
    "ΣΟΦΊΑ",
    "σοφία",
    "İstanbul",
    "es",
    "s",
    "pre",
    "training",
    "pretraining",
    "policy",
    "policies",
    "LLMS",
]
GAPS = [
    " ",
    " ",
    " ",
    " ",
    "  ",
    "\n",
    "-",
    "–",
    ", ",
    ". ",
    ".",
    "$",
    r"$\\",
    "\\",
    "{",
    "}",
    "_",
    "'",
    "/",
    " (",
    ") ",
    "$-",
    "\u00a0",
    "\u2028",
    "--",
    " - ",
    "^",
]
TOPICS = ["llm", "agents", "robotics", "theory"]
AUTHORS = ["José García", "Jose  Garcia", "JOSÉ GARCÍA", "Li Wei", "Zoë Müller", "Zoe Muller", "Ada"]

# mostly vocabulary, sometimes arbitrary unicode
words = st.one_of(*[st.sampled_from(WORDS)] * 6, st.text(min_size=1, max_size=4))
gaps = st.one_of(*[st.sampled_from(GAPS)] * 6, st.text(max_size=2))


@st.composite
def texts(draw, max_words: int) -> str:
    n = draw(st.integers(0, max_words))
    parts = [draw(gaps) if draw(st.booleans()) else ""]
    for _ in range(n):
        parts += [draw(words), draw(gaps)]
    return "".join(parts)


@st.composite
def terms(draw) -> str:
    n = draw(st.integers(1, 3))
    term = draw(st.sampled_from(WORDS))
    for _ in range(n - 1):
        term += draw(st.sampled_from([" ", "-", " - ", ".", "$-", "'"])) + draw(st.sampled_from(WORDS))
    return term


def valid_term(term: str) -> bool:
    return parse_term(term) is not None and 0 < len(" ".join(term.strip().strip('"').split())) <= 100


term_lists = st.lists(
    st.one_of(terms(), terms(), terms(), st.text(min_size=1, max_size=8).filter(valid_term)), max_size=5
)


@st.composite
def papers(draw) -> list[IndexedPaper]:
    ids = draw(st.lists(st.integers(1, 40), unique=True, max_size=12))
    return [
        IndexedPaper(
            id=i,
            title=draw(texts(6)),
            abstract=draw(texts(30)),
            authors=tuple(draw(st.lists(st.sampled_from(AUTHORS), max_size=3))),
            topics=frozenset(draw(st.lists(st.sampled_from(TOPICS), max_size=2))),
            upvotes=draw(st.integers(0, 300)),
            first_seen_at=NOW - timedelta(hours=draw(st.integers(0, 200))),
            sources=frozenset(draw(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2))),
        )
        for i in ids
    ]


@st.composite
def requests(draw) -> MatchRequest:
    prefs = Preferences(
        topics=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=2))),
        keywords=tuple(draw(term_lists)),
        exclude=tuple(draw(st.lists(terms(), max_size=2))),
        authors=tuple(draw(st.lists(st.sampled_from(AUTHORS), max_size=2))),
        min_upvotes=draw(st.sampled_from([0, 0, 0, 3, 50])),
        max_papers=draw(st.integers(1, 12)),
        sources=tuple(draw(st.lists(st.sampled_from(["a", "b"]), max_size=1))),
    )
    since = NOW - timedelta(hours=draw(st.sampled_from([0, 24, 72, 100, 1000])))
    sent = frozenset(draw(st.lists(st.integers(1, 40), max_size=4)))
    return MatchRequest(prefs, since, sent)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(papers=papers(), reqs=st.lists(requests(), min_size=1, max_size=4))
def test_match_many_agrees_with_the_reference(papers: list[IndexedPaper], reqs: list[MatchRequest]) -> None:
    index = PaperIndex.build(papers, now=NOW)
    assert match_many(reqs, index) == [reference_match(r, papers, NOW) for r in reqs]


@settings(max_examples=500, deadline=None)
@given(term=st.one_of(terms(), terms(), terms(), st.text(min_size=1, max_size=6).filter(valid_term)), text=texts(25))
def test_term_occurrences_agree_with_the_regex(term: str, text: str) -> None:
    parsed = parse_term(term)
    assert parsed is not None
    expected = [m.span() for m in term_regex(term)[0].finditer(fold(text))]
    assert occurrences(parsed, tokenize(text)) == expected
