"""What the preferences page shows under "What papermail learned": the papers the reader liked
and disliked, their seed papers, and the terms that weigh most in their learned profile."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.seeds import SeedView, seeds_of
from service.actions.votes import UP, VotedPaper, votes_of
from service.matching.profiles import top_profile_terms
from service.matching.vectors import term_label
from service.storage.db import session_scope

SHOWN_TERMS = 12


@dataclass(frozen=True)
class LearnedView:
    liked: list[VotedPaper] = field(default_factory=list)
    disliked: list[VotedPaper] = field(default_factory=list)
    seeds: list[SeedView] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.liked or self.disliked or self.seeds)


def profile_terms(session: Session, subscriber_id: int, limit: int = SHOWN_TERMS) -> list[str]:
    """The terms that weigh most in the reader's learned profile, weighed against the last
    LEARNED_WINDOW of papers (the engine adds the reader's own papers to that window)."""
    since = datetime.now(UTC) - LEARNED_WINDOW
    return [term_label(term) for term, _weight in top_profile_terms(session, subscriber_id, since, limit=limit)]


# Long enough for a weekly reader's window, short enough to stay cheap on a page view.
LEARNED_WINDOW = timedelta(days=14)


def learned_view(settings: Settings, subscriber_id: int) -> LearnedView:
    with session_scope(settings) as session:
        votes = votes_of(session, subscriber_id)
        return LearnedView(
            liked=[v for v in votes if v.value == UP],
            disliked=[v for v in votes if v.value != UP],
            seeds=seeds_of(session, subscriber_id),
            terms=profile_terms(session, subscriber_id),
        )
