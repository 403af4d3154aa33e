"""Preferences: defaults, every rejected value naming its field, CLI/CSV term splitting."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from service.subscribers.preferences import Preferences, split_terms

TOPICS = {"llm", "agents", "efficient-inference"}


def rejected(data: dict, context: dict | None = None) -> tuple[str, str]:
    """(field, message) of the first error."""
    with pytest.raises(ValidationError) as caught:
        Preferences.model_validate(data, context=context)
    error = caught.value.errors()[0]
    return str(error["loc"][0]), error["msg"]


def test_defaults() -> None:
    prefs = Preferences()
    assert (prefs.max_papers, prefs.min_upvotes, prefs.sources) == (10, 0, ())
    assert (prefs.frequency, prefs.weekly_day, prefs.send_hour, prefs.timezone) == ("daily", "mon", 8, "UTC")
    assert prefs.empty_digest == "skip"
    assert not prefs.has_filters


def test_round_trips_through_json() -> None:
    prefs = Preferences.model_validate(
        {
            "topics": ["llm"],
            "keywords": ['"mixture of experts"', "LoRA"],
            "authors": ["Li Wei"],
            "frequency": "weekly",
            "weekly_day": "fri",
            "timezone": "Europe/Paris",
            "empty_digest": "notify",
        },
        context={"topics": TOPICS},
    )
    stored = json.dumps(prefs.model_dump(mode="json"))
    assert Preferences.model_validate(json.loads(stored)) == prefs
    assert prefs.keywords == ("mixture of experts", "LoRA")
    assert prefs.has_filters


def test_topics_are_checked_against_the_taxonomy_given_as_context() -> None:
    field, message = rejected({"topics": ["llm", "quantum-cooking"]}, {"topics": TOPICS})
    assert field == "topics" and "unknown topic 'quantum-cooking'" in message
    # without the taxonomy only the slug format is checked
    assert Preferences(topics=("quantum-cooking",)).topics == ("quantum-cooking",)
    assert rejected({"topics": ["Not A Slug"]})[0] == "topics"


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"keywords": ["  "]}, "keywords", "empty"),
        ({"keywords": ['""']}, "keywords", "empty"),
        ({"keywords": ["x" * 101]}, "keywords", "longer than 100"),
        ({"keywords": ["$$ --"]}, "keywords", "no letters or digits"),
        ({"keywords": [f"k{i}" for i in range(51)]}, "keywords", "at most 50"),
        ({"exclude": [""]}, "exclude", "empty"),
        ({"authors": ["   "]}, "authors", "empty"),
        ({"min_upvotes": -1}, "min_upvotes", "greater than or equal to 0"),
        ({"max_papers": 0}, "max_papers", "greater than or equal to 1"),
        ({"max_papers": 51}, "max_papers", "less than or equal to 50"),
        ({"send_hour": 24}, "send_hour", "less than or equal to 23"),
        ({"frequency": "hourly"}, "frequency", "daily"),
        ({"weekly_day": "monday"}, "weekly_day", "mon"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ({"timezone": "../etc/passwd"}, "timezone", "unknown time zone"),
        ({"empty_digest": "always"}, "empty_digest", "skip"),
        ({"sources": ["Not a source!"]}, "sources", "not a source name"),
        ({"colour": "blue"}, "colour", "Extra inputs"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(data: dict, field: str, fragment: str) -> None:
    got_field, message = rejected(data)
    assert got_field == field
    assert fragment in message


def test_terms_are_tidied_and_deduplicated_case_insensitively() -> None:
    prefs = Preferences(keywords=("LLM", " llm ", "Mixture  of experts", "mixture-of-experts", '"RAG"'))
    # a hyphen and a space are both joiners: one term, the first spelling stays
    assert prefs.keywords == ("LLM", "Mixture of experts", "RAG")
    # a full stop is not: these two match different text
    assert Preferences(keywords=("GPT-3.5", "GPT 3,5")).keywords == ("GPT-3.5", "GPT 3,5")


def test_authors_are_deduplicated_by_normalised_name() -> None:
    assert Preferences(authors=("José García", "jose  garcia", "Li Wei")).authors == ("José García", "Li Wei")


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (['diffusion; "mixture of experts"'], ["diffusion", "mixture of experts"]),
        (['"a; b"; c'], ["a; b", "c"]),
        (["LoRA", "  ", "RAG;;"], ["LoRA", "RAG"]),
        (['"large language models"'], ["large language models"]),
        (["one\ntwo; three"], ["one two", "three"]),
        ([], []),
    ],
)
def test_split_terms(cells: list[str], expected: list[str]) -> None:
    assert split_terms(cells) == expected
