"""Votes: cast once however often clicked, changed by the other link, undone; refused for a
paper never sent to that reader; every real change audited once, no-ops never."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.actions.votes import (
    DOWN,
    UP,
    VoteRefused,
    cast_vote,
    current_vote,
    may_vote,
    undo_vote,
    votes_of,
)
from service.storage.db import session_scope
from service.storage.models import Seed, Vote
from tests.service.actions.factories import NOW, audit_actions, count, paper, reader, sent

pytestmark = pytest.mark.integration  # both databases


def test_casting_twice_is_one_vote_and_one_audit_entry(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        alice, p = reader(session), paper(session, "2406.01234", "FlashAttention-3")
        sent(session, alice, p)
        assert cast_vote(session, alice, p.id, UP, "subscriber:1", NOW) is True
        assert cast_vote(session, alice, p.id, UP, "subscriber:1", NOW) is False
    with session_scope(db_settings) as session:
        assert count(session, Vote) == 1
        assert current_vote(session, alice.id, p.id) == UP
        assert audit_actions(session) == ["vote.cast"]


def test_the_other_link_changes_the_vote_and_undo_forgets_it(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        alice, p = reader(session), paper(session, "2406.01234", "FlashAttention-3")
        sent(session, alice, p)
        cast_vote(session, alice, p.id, UP, "subscriber:1", NOW)
        assert cast_vote(session, alice, p.id, DOWN, "subscriber:1", NOW) is True
        assert current_vote(session, alice.id, p.id) == DOWN
        [voted] = votes_of(session, alice.id)
        assert (voted.title, voted.value, voted.arxiv_id) == ("FlashAttention-3", DOWN, "2406.01234")
        assert undo_vote(session, alice, p.id, "subscriber:1") is True
        assert undo_vote(session, alice, p.id, "subscriber:1") is False
        assert current_vote(session, alice.id, p.id) is None
        assert audit_actions(session) == ["vote.cast", "vote.change", "vote.undo"]


def test_a_paper_never_sent_to_that_reader_is_refused_and_nothing_written(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        alice, bob = reader(session), reader(session, "bob@example.org")
        theirs, other = paper(session, "2406.01234", "Sent to Bob"), paper(session, "2406.05678", "Sent to nobody")
        sent(session, bob, theirs)
        for paper_id in (theirs.id, other.id, 999_999):
            with pytest.raises(VoteRefused):
                cast_vote(session, alice, paper_id, UP, "subscriber:1", NOW)
        assert not may_vote(session, alice.id, theirs.id) and may_vote(session, bob.id, theirs.id)
        assert count(session, Vote) == 0 and audit_actions(session) == []


def test_a_seed_paper_may_be_voted_on(settings: Settings) -> None:
    from service.storage import migrate

    migrate.upgrade(settings)
    with session_scope(settings) as session:
        alice, p = reader(session), paper(session, "2406.01234", "A seed")
        session.add(Seed(subscriber_id=alice.id, kind="arxiv", ref="2406.01234", paper_id=p.id))
        session.flush()
        assert cast_vote(session, alice, p.id, DOWN, "subscriber:1", NOW) is True
        assert session.scalars(select(Vote.value)).all() == [DOWN]


def test_a_vote_value_other_than_plus_or_minus_one_is_a_bug(settings: Settings) -> None:
    from service.storage import migrate

    migrate.upgrade(settings)
    with session_scope(settings) as session:
        alice, p = reader(session), paper(session, "2406.01234", "X paper title")
        sent(session, alice, p)
        with pytest.raises(ValueError):
            cast_vote(session, alice, p.id, 2, "subscriber:1", NOW)
