"""The shipped taxonomy, the matching rule, and classification of real recorded papers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import pytest

from service.topics.taxonomy import Taxonomy, Topic, TopicEvidence, classify, classify_evidence, load_taxonomy

EXPECTED_SLUGS = [
    "llm", "efficient-inference", "ml-systems", "agents", "reasoning", "multimodal",
    "computer-vision", "3d-vision", "generative-media", "speech-audio", "reinforcement-learning",
    "robotics", "safety-alignment", "hardware", "neurosymbolic", "theory", "retrieval-rag",
    "evaluation", "code-generation",
]  # fmt: skip


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def tiny(**overrides: Any) -> Taxonomy:
    """A one-topic taxonomy for pinning the rule itself, independent of the shipped keywords."""
    row: dict[str, Any] = {"slug": "t", "name": "T", "keywords": ["agent"]}
    row.update(overrides)
    return Taxonomy.from_rows([row])


def in_tiny(title: str, abstract: str = "", **overrides: Any) -> bool:
    categories = overrides.pop("paper_categories", [])
    primary = overrides.pop("primary", None)
    return classify(title, abstract, categories, primary, tiny(**overrides)) == ["t"]


# --- the shipped taxonomy -------------------------------------------------------------------


def test_shipped_taxonomy_has_the_slugs_other_code_relies_on(taxonomy: Taxonomy) -> None:
    assert taxonomy.slugs == EXPECTED_SLUGS
    assert len(taxonomy.topics) >= 15
    for topic in taxonomy.topics:
        assert topic.name and topic.description and topic.keywords, topic.slug


def test_no_topic_lists_the_catch_all_categories(taxonomy: Taxonomy) -> None:
    for topic in taxonomy.topics:
        assert not {"cs.AI", "cs.LG"} & set(topic.categories + topic.strong_categories)


PAPERS = [
    (
        "quantization",
        "QuaRot-X: Outlier-Free 4-bit Weight and Activation Quantization for LLMs",
        "We present a post-training quantization method that rotates activations to remove "
        "outliers, enabling W4A4 inference with INT4 kernels at under 1 point of perplexity loss.",
        ["cs.LG", "cs.CL"],
        "cs.LG",
        {"efficient-inference", "llm"},
    ),
    (
        "triton kernel",
        "Writing Fast Attention Kernels in Triton",
        "We write fused GPU kernels for attention variants in Triton and match hand-tuned CUDA "
        "on H100 tensor cores while keeping the kernel source under 200 lines.",
        ["cs.LG"],
        "cs.LG",
        {"ml-systems"},
    ),
    (
        "humanoid",
        "Whole-Body Control for Humanoid Robots from Human Video",
        "We learn a whole-body controller for a humanoid from monocular human videos and deploy "
        "it zero-shot on hardware, with sim-to-real transfer of walking and carrying skills.",
        ["cs.LG"],
        "cs.LG",
        {"robotics"},
    ),
    (
        "rag",
        "Adaptive Retrieval-Augmented Generation for Long-Tail Questions",
        "Retrieval-augmented generation helps on rare entities. Our retriever decides per query "
        "whether to retrieve, and a reranker filters passages before the reader sees them.",
        ["cs.CL", "cs.IR"],
        "cs.CL",
        {"retrieval-rag"},
    ),
    (
        "3d",
        "Feed-Forward Gaussian Splatting from Unposed Images",
        "We predict 3D Gaussians directly from a handful of unposed views and render novel views "
        "in real time, without per-scene optimisation or known camera poses.",
        ["cs.CV"],
        "cs.CV",
        {"3d-vision", "computer-vision"},
    ),
    (
        "speech",
        "Streaming Speech Recognition with Chunked Conformers",
        "We cut the latency of automatic speech recognition by chunked attention while keeping "
        "word error rate on LibriSpeech within 2% of offline decoding.",
        ["eess.AS", "cs.CL"],
        "eess.AS",
        {"speech-audio"},
    ),
    (
        "jailbreak",
        "Many-Shot Jailbreaks Transfer Across Model Families",
        "We show that jailbreak prompts found on open models transfer to closed ones and measure "
        "how refusal training and guardrails change the attack success rate.",
        ["cs.CR", "cs.CL"],
        "cs.CR",
        {"safety-alignment"},
    ),
]


@pytest.mark.parametrize(
    ("title", "abstract", "categories", "primary", "expected"),
    [paper[1:] for paper in PAPERS],
    ids=[paper[0] for paper in PAPERS],
)
def test_hand_written_papers_land_in_their_topics(
    taxonomy: Taxonomy,
    title: str,
    abstract: str,
    categories: list[str],
    primary: str,
    expected: set[str],
) -> None:
    got = classify(title, abstract, categories, primary, taxonomy)
    assert expected <= set(got), got
    assert len(got) <= 4, got


def test_a_paper_whose_only_signal_is_cs_lg_gets_no_topic(taxonomy: Taxonomy) -> None:
    title = "On the Dynamics of Adaptive Optimisers"
    abstract = "We study how adaptive step sizes change the trajectory of training in practice."
    assert classify(title, abstract, ["cs.LG"], "cs.LG", taxonomy) == []


def test_hate_speech_is_not_speech_audio(taxonomy: Taxonomy) -> None:
    got = classify(
        "Multilingual Hate Speech Detection with Small Models",
        "Hate speech detection in low-resource languages: we fine-tune encoders on hate speech.",
        ["cs.CL"],
        "cs.CL",
        taxonomy,
    )
    assert "speech-audio" not in got


def test_reasoning_in_passing_is_not_the_reasoning_topic(taxonomy: Taxonomy) -> None:
    abstract = "Reasoning about layouts needs reasoning over text; our reasoning is visual."
    assert "reasoning" not in classify("Layout Parsing", abstract, [], None, taxonomy)
    assert "reasoning" in classify("Layout Reasoning", "", [], None, taxonomy)


def test_strong_primary_category_decides_alone(taxonomy: Taxonomy) -> None:
    assert classify("A Bland Title", "", ["cs.RO"], "cs.RO", taxonomy) == ["robotics"]
    # As a secondary category cs.RO is only a weak signal.
    assert classify("A Bland Title", "", ["cs.LG", "cs.RO"], "cs.LG", taxonomy) == []


# --- the matching rule, on a one-topic taxonomy ----------------------------------------------


@pytest.mark.parametrize(
    ("title", "matches"),
    [
        ("An Agent for Spreadsheets", True),
        ("Agents that Browse", True),
        ("AGENT", True),
        ("an agent's memory", True),
        ("Reagent Selection for Synthesis", False),
        ("Reagents", False),
        ("Agentive Verbs", False),
        ("Management", False),
    ],
)
def test_terms_match_whole_words_and_plurals(title: str, matches: bool) -> None:
    assert in_tiny(title) is matches


def test_es_plural_and_phrases_across_whitespace_and_hyphens() -> None:
    assert in_tiny("Bounding Boxes", keywords=["bounding box"])
    assert in_tiny("Large\n   Language\tModels", keywords=["large language model"])
    assert in_tiny("Large-Language-Model Agents", keywords=["large language model"])
    assert in_tiny("Multi-Agent Debate", keywords=["multi-agent"])
    assert in_tiny("Multi Agent Debate", keywords=["multi-agent"])
    assert in_tiny("Multiagent Debate", keywords=["multi-agent"])
    assert not in_tiny("Large Language", keywords=["large language model"])


def test_abstract_needs_enough_hits_and_a_category_is_one_of_them() -> None:
    one = "An agent acts."
    two = "An agent acts; the agent learns."
    assert not in_tiny("Title", one)
    assert in_tiny("Title", two)
    assert in_tiny("Title", one, categories=["cs.MA"], paper_categories=["cs.MA"])
    assert not in_tiny("Title", "", categories=["cs.MA"], paper_categories=["cs.MA"])
    assert not in_tiny("Title", two, min_abstract_hits=3)


def test_title_keywords_count_in_titles_only() -> None:
    rule = {"keywords": ["agent"], "title_keywords": ["benchmark"]}
    assert in_tiny("A Benchmark for Tables", **rule)
    assert not in_tiny("Tables", "A benchmark. Another benchmark. A third benchmark.", **rule)


def test_exclusions_mask_only_their_own_occurrences() -> None:
    rule = {"keywords": ["speech"], "exclude": ["hate speech", "part-of-speech"]}
    assert not in_tiny("Hate Speech Detection", **rule)
    assert not in_tiny("Part of Speech Tagging", **rule)
    assert not in_tiny("Title", "hate speech and more hate speech and part-of-speech tags", **rule)
    assert in_tiny("Title", "hate speech in speech: spoken speech", **rule)


def test_a_negative_term_keeps_a_paper_out_wherever_it_occurs() -> None:
    rule = {"keywords": ["tokenizer", "LLM"], "exclude": ["!visual tokenizer"]}
    assert in_tiny("Better Tokenizers for LLMs", **rule)
    assert not in_tiny("Better Tokenizers for LLMs", "We train a visual tokenizer.", **rule)
    assert not in_tiny("Holistic Visual Tokenizers", "A tokenizer inside the LLM; the tokenizer.", **rule)


def test_a_vision_paper_with_a_visual_tokenizer_is_not_about_llms(taxonomy: Taxonomy) -> None:
    # the HYDRA-X: "tokenizer" four times and "LLM" once, yet about vision
    title = "HYDRA-X: Native Unified Multimodal Models with Holistic Visual Tokenizers"
    abstract = (
        "Holistic visual tokenizers are fundamental to unified multimodal models. We unify image and "
        "video tokenization within a single Vision Transformer. Building on this holistic tokenizer, "
        "source-target interaction should occur inside the tokenizer rather than inside the LLM, "
        "paving the way for future unified-tokenizer models."
    )
    got = classify(title, abstract, ["cs.CV"], "cs.CV", taxonomy)
    assert "llm" not in got and "computer-vision" in got


def test_evidence_names_the_terms_and_category_that_decided() -> None:
    rows = [
        {"slug": "q", "name": "Q", "keywords": ["quantization", "INT8", "KV cache"], "categories": ["cs.AR"]},
        {"slug": "r", "name": "R", "keywords": ["robot"], "strong_categories": ["cs.RO"]},
    ]
    taxonomy = Taxonomy.from_rows(rows)
    got = classify_evidence("INT8 Quantization", "We quantize the KV-cache; quantization again.", ["cs.AR"], "cs.RO", taxonomy)
    assert got == [
        TopicEvidence("q", ("INT8", "quantization"), ("KV cache", "quantization"), None),
        TopicEvidence("r", (), (), "cs.RO"),
    ]
    assert got[0].terms == ("INT8", "quantization", "KV cache")
    [weak] = classify_evidence("Title", "One robot.", ["cs.RO"], "cs.LG", taxonomy)
    assert weak == TopicEvidence("r", (), ("robot",), "cs.RO")  # one mention + the category


def test_topic_terms_match_as_subscriber_keywords_do() -> None:
    # one rule for both (service.matching.terms): hyphen, space or none; plurals both ways
    assert in_tiny("Pretraining at Scale", keywords=["pre-training"])
    assert in_tiny("Pre-Training at Scale", keywords=["pretraining"])
    assert in_tiny("One LLM", keywords=["LLMs"])
    assert in_tiny("KVCache Eviction", keywords=["KV cache"])


def test_negative_terms_need_letters_too(tmp_path: Path) -> None:
    body = '[[topics]]\nslug = "neg"\nname = "N"\nkeywords = ["x"]\nexclude = ["!--"]\n'
    with pytest.raises(ValueError, match="'neg'"):
        load_taxonomy(write_toml(tmp_path, body))


def test_overlapping_terms_count_once() -> None:
    # "large language model" and "language model" on the same words are one hit, not two.
    rule = {"keywords": ["large language model", "language model"]}
    assert not in_tiny("Title", "We use a large language model.", **rule)
    assert in_tiny("Title", "A large language model and a small language model.", **rule)


def test_results_follow_taxonomy_order_and_are_deterministic(taxonomy: Taxonomy) -> None:
    title = "Speculative Decoding for Multimodal LLM Agents on Robots"
    first = classify(title, "", [], None, taxonomy)
    assert first == classify(title, "", [], None, load_taxonomy())
    assert first == [slug for slug in taxonomy.slugs if slug in first]
    reversed_taxonomy = Taxonomy(tuple(reversed(taxonomy.topics)))
    assert classify(title, "", [], None, reversed_taxonomy) == first[::-1]


# --- version, rows, validation ----------------------------------------------------------------


def test_version_is_a_content_hash(taxonomy: Taxonomy) -> None:
    assert load_taxonomy().version == taxonomy.version
    round_trip = Taxonomy.from_rows(taxonomy.to_rows())
    assert round_trip == taxonomy and round_trip.version == taxonomy.version
    rows = taxonomy.to_rows()
    rows[0]["keywords"] = [*rows[0]["keywords"], "frontier model"]
    assert Taxonomy.from_rows(rows).version != taxonomy.version
    assert tiny().version != tiny(keywords=["agents"]).version


def test_database_rows_with_nulls_build_the_same_topics() -> None:
    rows = [{"slug": "a", "name": "A", "description": None, "keywords": ["x"], "exclude": None}]
    assert Taxonomy.from_rows(rows).topics == (Topic(slug="a", name="A", keywords=("x",)),)


def write_toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = '[[topics]]\nslug = "fine"\nname = "Fine"\nkeywords = ["x"]\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GOOD + '[[topics]]\nslug = "fine"\nname = "Again"\nkeywords = ["y"]\n', "'fine'"),
        ('[[topics]]\nslug = "Bad Slug"\nname = "B"\nkeywords = ["x"]\n', "'Bad Slug'"),
        ('[[topics]]\nslug = "-dash"\nname = "B"\nkeywords = ["x"]\n', "'-dash'"),
        ('[[topics]]\nslug = "empty"\nname = "  "\nkeywords = ["x"]\n', "'empty'"),
        ('[[topics]]\nslug = "typo"\nname = "T"\nkeyowrds = ["x"]\n', "'typo'"),
        ('[[topics]]\nslug = "str"\nname = "S"\nkeywords = "x"\n', "'str'"),
        ('[[topics]]\nslug = "cat"\nname = "C"\nkeywords = ["x"]\ncategories = ["cs LG"]\n', "'cat'"),
        ('[[topics]]\nslug = "mute"\nname = "M"\n', "'mute'"),
        ('[[topics]]\nslug = "punct"\nname = "P"\nkeywords = ["--"]\n', "'punct'"),
        ('[[topics]]\nslug = "hits"\nname = "H"\nkeywords = ["x"]\nmin_abstract_hits = 0\n', "'hits'"),
        (GOOD + '[[topics]]\nname = "No slug"\nkeywords = ["x"]\n', "topic #2"),
        ("[[topics]\nslug = ", "not valid TOML"),
        ('title = "no topics"\n', "unknown top-level keys"),
        ("", "no [[topics]]"),
    ],
)
def test_bad_taxonomy_files_name_the_topic(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ValueError, match="topics.toml") as caught:
        load_taxonomy(write_toml(tmp_path, body))
    assert message in str(caught.value)


def test_a_good_small_file_loads(tmp_path: Path) -> None:
    loaded = load_taxonomy(write_toml(tmp_path, GOOD))
    assert loaded.slugs == ["fine"] and loaded.get("fine") is not None


# --- recorded real papers ---------------------------------------------------------------------


def test_recorded_hf_papers_mostly_get_a_few_topics(
    shared_fixtures: Path, taxonomy: Taxonomy
) -> None:
    papers = []
    for path in sorted((shared_fixtures / "feeds").glob("hf_daily_papers_*.json")):
        papers += [item["paper"] for item in json.loads(path.read_text(encoding="utf-8"))]
    results = [classify(p["title"], p["summary"], [], None, taxonomy) for p in papers]
    assert len(papers) >= 30
    # Verified: 30 of the 33 recorded papers get a topic; the rest are genuinely off-taxonomy.
    assert sum(1 for slugs in results if slugs) >= 0.8 * len(papers)
    assert max(len(slugs) for slugs in results) <= 6
    by_title = dict(zip((p["title"] for p in papers), results, strict=True))
    assert "ml-systems" in by_title["Flash-GMM: A Memory-Efficient Kernel for Scalable Soft Clustering"]
    assert "efficient-inference" in by_title[
        "VIA-SD: Verification via Intra-Model Routing for Speculative Decoding"
    ]
    # the vision paper, "tokenizer" ×4 and "LLM" once: its visual tokenizer keeps it out
    assert "llm" not in by_title["HYDRA-X: Native Unified Multimodal Models with Holistic Visual Tokenizers"]


def test_recorded_arxiv_papers_follow_their_primary_categories(
    shared_fixtures: Path, taxonomy: Taxonomy
) -> None:
    entries = []
    for path in sorted((shared_fixtures / "feeds").glob("arxiv_api_*.xml")):
        entries += feedparser.parse(path).entries
    strong = {"cs.RO": "robotics", "cs.DC": "ml-systems", "cs.CV": "computer-vision"}
    checked = 0
    for entry in entries:
        categories = [tag["term"] for tag in entry.tags]
        primary = entry.arxiv_primary_category["term"]
        slugs = classify(entry.title, entry.summary, categories, primary, taxonomy)
        assert len(slugs) <= 6
        if primary in strong:
            assert strong[primary] in slugs, entry.title
            checked += 1
    assert checked >= 5
