"""From matches and paper rows to the digest: what readers share is worked out once per paper and
reasons, and each reader still gets their own reasons, highlights and vote links."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import date
from pathlib import Path

from service.digests.compose import (
    digest_context,
    digest_paper,
    page_url,
    paper_block,
    subscriber_links,
    vote_urls,
)
from service.matching.records import Liked, Match, Reasons, TermHit, TopicReason
from service.rendering import DigestLinks, Sender, render_digest
from service.rendering.digest import render_digest_plain
from service.rendering.reader_paper import ReaderPaper
from service.storage.models import Paper, Subscriber
from service.subscribers.tokens import (
    compact_links,
    link,
    make_token,
    read_token,
    read_vote_token,
    token_url,
    vote_link,
    vote_links,
)
from tests.conftest import make_settings

TITLE = "KV cache eviction for long contexts"
ABSTRACT = "We shrink the KV cache of long-context decoding by evicting cached keys and values."
NAMES = {"efficient-inference": "Efficient inference", "llm": "LLMs"}
KV = Reasons(terms=(TermHit("KV cache", "title", ((0, 8),)), TermHit("KV cache", "abstract", ((14, 22),))))
TOPIC = Reasons(topics=("efficient-inference",),
                evidence=(TopicReason("efficient-inference", ("eviction",)),))  # fmt: skip


def a_paper(paper_id: int = 7) -> Paper:
    return Paper(id=paper_id, uid=f"hf:{paper_id}", arxiv_id=f"2611.{paper_id:05d}", title=TITLE, abstract=ABSTRACT,
                 authors=["Ada Lovelace", "Alan Turing"], hf_url=f"https://huggingface.co/papers/2611.{paper_id:05d}",
                 upvotes=12, organization="Example Lab", topics=[])  # fmt: skip


def test_each_reader_gets_their_own_signed_vote_links(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, base_url="https://papermail.test")
    papers = {7: a_paper(7), 8: a_paper(8)}
    sender = Sender("papermail", "1 Example Street")
    contexts = [
        digest_context(settings, Subscriber(id=sid, email=f"r{sid}@example.org", token_version=1),
                       [Match(7, 2.0, KV), Match(8, 1.0, TOPIC)], papers, NAMES, date(2026, 11, 27), sender, sid)
        for sid in (1, 2)
    ]  # fmt: skip
    for sid, ctx in zip((1, 2), contexts, strict=True):
        more = ctx.papers[0].more_url
        assert more is not None and more.startswith("https://papermail.test/vote/")
        vote = read_vote_token(settings, more.rsplit("/", 1)[1])
        assert (vote.subscriber_id, vote.paper_id, vote.value) == (sid, 7, 1)
    first, second = (ctx.papers[0].reference() for ctx in contexts)
    assert first.title_spans == second.title_spans and first.more_url != second.more_url
    title_url = first.url
    assert title_url is not None and title_url.startswith("https://papermail.test/") and "2611.00007" in title_url


def test_a_digests_papers_are_the_reference_papers_and_readers_with_equal_reasons_share_a_block(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, base_url="https://papermail.test")
    papers = {7: a_paper(7), 8: a_paper(8)}
    sender = Sender("papermail", "1 Example Street")
    reasons = {1: (KV, TOPIC), 2: (KV, KV), 3: (Reasons(trending=True), TOPIC)}
    marks = {8: ("code released",)}
    contexts = {
        sid: digest_context(settings, Subscriber(id=sid, email=f"r{sid}@example.org", token_version=sid),
                            [Match(7, 2.0, a), Match(8, 1.0, b)], papers, NAMES, date(2026, 11, 27), sender, sid,
                            marks)
        for sid, (a, b) in reasons.items()
    }  # fmt: skip
    for sid, ctx in contexts.items():
        subscriber = Subscriber(id=sid, token_version=sid)
        for paper_id, got, why in zip((7, 8), ctx.papers, reasons[sid], strict=True):
            assert isinstance(got, ReaderPaper)
            expected = digest_paper(papers[paper_id], Match(paper_id, 1.0, why), NAMES,
                                    vote_urls(settings, subscriber, paper_id), marks.get(paper_id, ()),
                                    page_url(settings, papers[paper_id]))
            assert got.reference() == expected
        assert render_digest(ctx) == render_digest_plain(ctx)
    # equal reasons for a paper: one block; other reasons: another
    assert contexts[1].papers[0].block is contexts[2].papers[0].block  # type: ignore[union-attr]
    assert contexts[1].papers[1].block is contexts[3].papers[1].block  # type: ignore[union-attr]
    assert contexts[1].papers[0].block is not contexts[3].papers[0].block  # type: ignore[union-attr]
    assert contexts[2].papers[1].block is not contexts[1].papers[1].block  # type: ignore[union-attr]


def test_a_block_follows_the_base_url(tmp_path: Path) -> None:
    paper = a_paper(7)
    here = paper_block(make_settings(tmp_path, base_url="https://one.test"), paper, KV, NAMES)
    there = paper_block(make_settings(tmp_path, base_url="https://two.test"), paper, KV, NAMES)
    assert here.unmarked.url is not None and here.unmarked.url.startswith("https://one.test/")
    assert there.unmarked.url is not None and there.unmarked.url.startswith("https://two.test/")


def test_an_equal_topic_names_mapping_keeps_the_papers_blocks(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, base_url="https://papermail.test")
    paper = a_paper(11)
    first = paper_block(settings, paper, TOPIC, dict(NAMES))
    assert paper_block(settings, paper, TOPIC, dict(NAMES)) is first  # the next batch's equal names
    renamed = paper_block(settings, paper, TOPIC, {**NAMES, "efficient-inference": "Fast inference"})
    assert renamed is not first and renamed.matched_topics == ("Fast inference",)


def test_vote_links_are_the_two_vote_links(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, base_url="https://papermail.test")
    for sid, version, paper_id in ((1, 1, 7), (123456789, 42, 98765432)):
        assert vote_links(settings, sid, version, paper_id) == (vote_link(settings, sid, version, paper_id, 1),
                                                               vote_link(settings, sid, version, paper_id, -1))


def test_a_readers_links_are_the_tokened_links_made_one_by_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, base_url="https://papermail.test/sub/path")
    for sid, version, delivery in ((1, 1, 5), (987654321, 12, None), (3, 0, 123456789012)):
        links = subscriber_links(settings, Subscriber(id=sid, token_version=version), delivery)
        token = make_token(settings, "unsubscribe", sid, version)
        assert links == DigestLinks(
            preferences_url=link(settings, "preferences", sid, version),
            unsubscribe_url=token_url(settings, "unsubscribe", token),
            unsubscribe_token=token,
            view_in_browser_url=link(settings, "digest", sid, version, d=delivery) if delivery else None,
            archive_url=link(settings, "archive", sid, version),
            feed_url=link(settings, "feed", sid, version),
        )
        assert links.feed_url is not None
        assert read_token(settings, "feed", links.feed_url.rpartition("/")[2]).subscriber_id == sid
    # outside the compact form (a name of two letters), the same as link() too
    assert compact_links(settings, 1, 1, ("digest",), dd=3) == [link(settings, "digest", 1, 1, dd=3)]


def test_reasons_parts_keep_their_hash_and_pickle_without_it() -> None:
    # compose keys blocks and parts by Reasons: the parts' kept hashes must be the field-wise ones
    hit, topic = KV.terms[1], TOPIC.evidence[0]
    assert hash(hit) == hash((hit.term, hit.field, hit.spans)) == hash(TermHit("KV cache", "abstract", ((14, 22),)))
    assert hash(topic) == hash((topic.slug, topic.terms, topic.category)) and hash(KV) == hash(replace(KV))
    for part in (hit, topic):
        again = pickle.loads(pickle.dumps(part))
        assert again == part and again._hash is None and "_hash" not in repr(part)  # another process, another hash


def test_a_new_paper_object_for_the_same_paper_finds_its_blocks_and_a_changed_paper_does_not(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, base_url="https://papermail.test")
    first = paper_block(settings, a_paper(12), KV, NAMES)
    assert paper_block(settings, a_paper(12), KV, NAMES) is first  # the next batch's rows, index built afresh
    trending = a_paper(12)
    trending.upvotes = 99
    changed = paper_block(settings, trending, KV, NAMES)
    assert changed is not first and changed.unmarked.upvotes == 99 and changed.reference().upvotes == 99


HOSTILE = ["<script>alert('x')</script> & \"KV cache\" &amp; <b>bold</b>", "Über KV cache: naïve eviction (日本語, 🚀)",
           "Scaling $\\mathcal{O}(n)$ KV cache eviction", "{{ not jinja }} {% neither %} KV cache\n  eviction"]


def test_digests_of_many_readers_splice_to_the_plain_render_of_their_reference_papers(tmp_path: Path) -> None:
    import random

    settings = make_settings(tmp_path, base_url="https://papermail.test")
    rng = random.Random(6)
    papers = {}
    for i in range(12):
        paper = a_paper(100 + i)
        paper.title = HOSTILE[i % len(HOSTILE)] if i % 3 else TITLE
        paper.ai_summary = "Evicting <keys> & values." if i % 2 else None
        paper.upvotes = rng.choice([0, 3, 250])
        papers[paper.id] = paper
    kinds = [KV, TOPIC, Reasons(trending=True), Reasons(authors=("Ada Lovelace",)),
             Reasons(terms=KV.terms[1:], topics=TOPIC.topics, evidence=TOPIC.evidence, like=Liked(1, "<Paged> KV", "seed")),
             Reasons(terms=(TermHit("eviction", "title", ((9, 17),)),))]
    marks = {100: ("now trending",), 103: ("code released", "<new> & improved")}
    sender = Sender("papermail <&>", "1 Example Street")
    for sid in range(60):
        picked = rng.sample(sorted(papers), rng.randint(0, 10))
        matches = [Match(pid, 1.0, rng.choice(kinds)) for pid in picked]
        ctx = digest_context(settings, Subscriber(id=sid, email=f"r{sid}@example.org", token_version=1), matches,
                             papers, NAMES, date(2026, 11, 27), sender, sid if sid % 4 else None, marks,
                             "Hugging Face is late & <slow>" if sid % 5 == 0 else None)
        assert render_digest(ctx) == render_digest_plain(ctx), sid
