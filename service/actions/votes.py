"""A reader's 👍 / 👎 on a paper: cast, change, undo. The one place that writes ``votes`` rows
and their audit entries; the vote page, the preferences page and the API all call these.

A reader may vote on a paper that was sent to them (``Delivery.paper_ids``) or that they named as a
seed, nothing else: a vote token is only ever made for those, so anything else is a forged or
misused link. Casting the vote a reader already gave, or undoing one never cast, changes
nothing and writes no audit entry (a double click, a refreshed page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.admin import audit
from service.storage.models import Delivery, Paper, Seed, Subscriber, Vote

UP, DOWN = 1, -1
VALUES = (UP, DOWN)


class VoteRefused(Exception):
    """The paper was never sent to this reader, or there is no such paper."""


def subscriber_actor(subscriber_id: int) -> str:
    """The audit actor of what readers do themselves, from their own links."""
    return f"subscriber:{subscriber_id}"


def may_vote(session: Session, subscriber_id: int, paper_id: int) -> bool:
    """True when PAPER_ID went to the reader in a digest or is one of their seeds."""
    seeded = exists().where(Seed.subscriber_id == subscriber_id, Seed.paper_id == paper_id)  # ix_seeds_paper_id
    if session.scalar(select(seeded)):
        return True
    # Only the deliveries whose newest paper is no older than this one can hold it
    # (ix_deliveries_subscriber_last_paper); their id lists are looked through here.
    held = select(Delivery.paper_ids).where(Delivery.subscriber_id == subscriber_id, Delivery.last_paper_id >= paper_id)
    return any(paper_id in ids for ids in session.scalars(held) if ids)


def current_vote(session: Session, subscriber_id: int, paper_id: int) -> int | None:
    return session.scalar(select(Vote.value).where(Vote.subscriber_id == subscriber_id, Vote.paper_id == paper_id))


def cast_vote(session: Session, subscriber: Subscriber, paper_id: int, value: int, actor: str,
              now: datetime) -> bool:
    """Record SUBSCRIBER's VALUE (+1/-1) on the paper; True when that changed anything.
    Raises VoteRefused (nothing written) unless ``may_vote``."""
    if value not in VALUES:
        raise ValueError(f"a vote is +1 or -1, not {value!r}")
    if session.get(Paper, paper_id) is None or not may_vote(session, subscriber.id, paper_id):
        raise VoteRefused("this paper was not in your digests, so there is nothing to vote on")
    where = (Vote.subscriber_id == subscriber.id, Vote.paper_id == paper_id)
    vote = session.scalar(select(Vote).where(*where))
    if vote is None:
        try:
            with session.begin_nested():  # two clicks at once: the UNIQUE pair lets one insert win
                session.add(Vote(subscriber_id=subscriber.id, paper_id=paper_id, value=value,
                                 created_at=now, updated_at=now))
        except IntegrityError:
            vote = session.scalar(select(Vote).where(*where))
        else:
            audit.record(session, actor, "vote.cast", "subscriber", subscriber.id, None,
                         {"paper_id": paper_id, "value": value})
            return True
    if vote is None or vote.value == value:
        return False
    before = vote.value
    vote.value, vote.updated_at = value, now
    audit.record(session, actor, "vote.change", "subscriber", subscriber.id,
                 {"paper_id": paper_id, "value": before}, {"paper_id": paper_id, "value": value})
    return True


def undo_vote(session: Session, subscriber: Subscriber, paper_id: int, actor: str) -> bool:
    """Forget SUBSCRIBER's vote on the paper; True when there was one."""
    where = (Vote.subscriber_id == subscriber.id, Vote.paper_id == paper_id)
    value = session.scalar(select(Vote.value).where(*where))
    if value is None:
        return False
    session.execute(delete(Vote).where(*where))
    audit.record(session, actor, "vote.undo", "subscriber", subscriber.id,
                 {"paper_id": paper_id, "value": value}, None)
    return True


@dataclass(frozen=True)
class VotedPaper:
    paper_id: int
    value: int
    title: str
    arxiv_id: str | None
    url: str | None
    voted_at: datetime


def votes_of(session: Session, subscriber_id: int, limit: int = 500) -> Sequence[VotedPaper]:
    """The reader's votes, newest first, with what a page needs to show each paper."""
    rows = session.execute(
        select(Vote.paper_id, Vote.value, Paper.title, Paper.arxiv_id, Paper.hf_url, Paper.abs_url, Vote.updated_at)
        .join(Paper, Paper.id == Vote.paper_id)
        .where(Vote.subscriber_id == subscriber_id)
        .order_by(Vote.updated_at.desc(), Vote.id.desc())
        .limit(limit)
    ).all()
    return [VotedPaper(pid, value, title, arxiv_id, hf or abs_url, at)
            for pid, value, title, arxiv_id, hf, abs_url, at in rows]
