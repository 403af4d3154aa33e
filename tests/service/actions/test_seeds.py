"""Seeds: ids stored known or not, a title naming one paper stored as that paper, several asked
about, none kept waiting; duplicates counted; the per-reader limit; remove; reset what was learned."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.actions import seeds as seed_actions
from service.actions.seeds import (
    add_seed_papers,
    add_seeds,
    remove_seed,
    reset_learned,
    seeds_of,
)
from service.actions.votes import UP, cast_vote
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import Seed, Vote
from service.subscribers.seed_refs import SeedRef
from tests.service.actions.factories import NOW, audit_actions, count, paper, reader, sent

ACTOR = "subscriber:1"


@pytest.fixture
def db(settings: Settings) -> Settings:
    migrate.upgrade(settings)
    return settings


def stored(settings: Settings) -> list[tuple[str, str, int | None]]:
    with session_scope(settings) as session:
        return [tuple(r) for r in session.execute(select(Seed.kind, Seed.ref, Seed.paper_id).order_by(Seed.id))]  # type: ignore[misc]


@pytest.mark.integration
def test_ids_titles_and_ambiguous_titles(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        alice = reader(session)
        known = paper(session, "2406.01234", "FlashAttention-3: Fast and Accurate Attention")
        titled = paper(session, None, "A Blog Post Paper Without An Id")
        twin_a = paper(session, "2401.00001", "Scaling Laws Revisited")
        twin_b = paper(session, "2402.00002", "Scaling laws revisited")
        result = add_seeds(session, alice, [
            SeedRef("arxiv", "2406.01234"),
            SeedRef("arxiv", "2501.99999"),  # not ingested yet
            SeedRef("title", "flashattention-3: fast and accurate attention"),  # the same paper again
            SeedRef("title", "A blog post paper without an id"),
            SeedRef("title", "Scaling Laws Revisited"),
            SeedRef("title", "A Paper Nobody Has Ingested"),
        ], ACTOR, NOW)
        assert result.added == [SeedRef("arxiv", "2406.01234"), SeedRef("arxiv", "2501.99999"),
                                SeedRef("title", "A Blog Post Paper Without An Id"),
                                SeedRef("title", "A Paper Nobody Has Ingested")]
        assert result.already == 1
        [question] = result.ambiguous
        assert question.title == "Scaling Laws Revisited"
        assert {c.paper_id for c in question.choices} == {twin_a.id, twin_b.id}
        ids = (known.id, titled.id)
    assert stored(db_settings) == [("arxiv", "2406.01234", ids[0]), ("arxiv", "2501.99999", None),
                                   ("title", "A Blog Post Paper Without An Id", ids[1]),
                                   ("title", "A Paper Nobody Has Ingested", None)]
    with session_scope(db_settings) as session:
        answer = add_seed_papers(session, alice, [twin_b.id], ACTOR, NOW)
        assert answer.added == [SeedRef("arxiv", "2402.00002")]
        assert audit_actions(session) == ["seeds.add", "seeds.add"]


def test_adding_the_same_refs_again_adds_nothing_and_audits_nothing(db: Settings) -> None:
    refs = [SeedRef("arxiv", "2406.01234"), SeedRef("title", "Some Waiting Title Here")]
    with session_scope(db) as session:
        alice = reader(session)
        add_seeds(session, alice, refs, ACTOR, NOW)
        again = add_seeds(session, alice, [*refs, SeedRef("title", "some waiting title here")], ACTOR, NOW)
        assert again.added == [] and again.already == 3
        assert audit_actions(session) == ["seeds.add"]


def test_seeds_beyond_the_per_reader_limit_are_counted_not_stored(db: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seed_actions, "MAX_SEEDS", 3)
    with session_scope(db) as session:
        alice = reader(session)
        result = add_seeds(session, alice, [SeedRef("arxiv", f"2406.0000{n}") for n in range(1, 6)], ACTOR, NOW)
        assert len(result.added) == 3 and result.over_limit == 2
        assert "2 not added: at most 3 seed papers" in result.summary()
    assert len(stored(db)) == 3


def test_seed_view_finds_a_paper_that_arrived_after_the_seed(db: Settings) -> None:
    with session_scope(db) as session:
        alice = reader(session)
        add_seeds(session, alice, [SeedRef("arxiv", "2501.99999"), SeedRef("title", "Waiting For This Title")], ACTOR, NOW)
    with session_scope(db) as session:
        late = paper(session, "2501.99999", "Arrived Later")
        by_title = paper(session, None, "Waiting for this title")
        views = seeds_of(session, alice.id)
        assert [(v.ref, v.title, v.paper_id) for v in views] == [
            ("2501.99999", "Arrived Later", late.id), ("Waiting For This Title", "Waiting for this title", by_title.id)]


def test_remove_only_the_readers_own_seed(db: Settings) -> None:
    with session_scope(db) as session:
        alice, bob = reader(session), reader(session, "bob@example.org")
        add_seeds(session, alice, [SeedRef("arxiv", "2406.01234")], ACTOR, NOW)
        [seed_id] = session.scalars(select(Seed.id)).all()
        assert remove_seed(session, bob, seed_id, "subscriber:2") is False
        assert remove_seed(session, alice, seed_id, ACTOR) is True
        assert remove_seed(session, alice, seed_id, ACTOR) is False
        assert count(session, Seed) == 0
        assert audit_actions(session) == ["seeds.add", "seeds.remove"]


def test_reset_forgets_votes_and_seeds_of_that_reader_only(db: Settings) -> None:
    with session_scope(db) as session:
        alice, bob = reader(session), reader(session, "bob@example.org")
        p = paper(session, "2406.01234", "Liked By Both")
        sent(session, alice, p)
        sent(session, bob, p)
        for who in (alice, bob):
            cast_vote(session, who, p.id, UP, ACTOR, NOW)
            add_seeds(session, who, [SeedRef("arxiv", "2406.05678")], ACTOR, NOW)
        assert reset_learned(session, alice, ACTOR) == (1, 1)
        assert reset_learned(session, alice, ACTOR) == (0, 0)
        assert session.scalars(select(Vote.subscriber_id)).all() == [bob.id]
        assert session.scalars(select(Seed.subscriber_id)).all() == [bob.id]
        assert audit_actions(session).count("learned.reset") == 1


def test_erasing_a_reader_deletes_their_votes_and_seeds(db: Settings) -> None:
    from service.subscribers.erase import scrub_personal_data

    with session_scope(db) as session:
        alice, bob = reader(session), reader(session, "bob@example.org")
        p = paper(session, "2406.01234", "Liked By Both")
        for who in (alice, bob):
            sent(session, who, p)
            cast_vote(session, who, p.id, UP, ACTOR, NOW)
            add_seeds(session, who, [SeedRef("title", "A Very Personal Favourite")], ACTOR, NOW)
        scrub_personal_data(session, alice, NOW)
    with session_scope(db) as session:
        assert session.scalars(select(Vote.subscriber_id)).all() == [bob.id]
        assert session.scalars(select(Seed.subscriber_id)).all() == [bob.id]
