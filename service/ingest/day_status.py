"""The state of one day's papers, told in one line: a source that was down, a day without papers.

``day_status`` is pure: the sources' poll state (the ``sources`` table) and how many papers each
source announced that day in, a ``DayStatus`` out; ``DayStatus.line`` says it to a reader
("arXiv announced nothing today (holiday)", "Hugging Face could not be reached since 06:00 UTC;
these are arXiv's papers"). ``load_day_status`` reads the inputs for a day. Digests carry the
line; the front page can show it for the day it shows.

Each enabled source is, for the day: *down* (its polls are failing now, a failure was seen on or
after the day began and its last success came before the day ended, or never), *fed* (it
announced papers that day), or quiet. A quiet arXiv source is quiet for a reason: a *weekend*
(arXiv announces nothing on Saturdays and Sundays), a *holiday* (a weekday it was polled on, or
after, and its feed was empty), or *late* (its feed still lists an earlier day, or it was not
polled since the day began). One line is told, the first that applies: the sources that were
down (and whose papers the digest has instead); arXiv's quiet day; a day with no papers at all
(not announced yet while the day lasts, else "announced nothing"). No sources known, no line.

Hugging Face papers are often arXiv papers of an earlier day (a paper keeps its first day), so
a quiet Hugging Face is only told when the whole day is empty; its outages always are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage.models import Paper, Source

ARXIV_KINDS = frozenset({"arxiv_rss", "arxiv_api"})
LABELS = {"hf_daily": "Hugging Face", "arxiv_rss": "arXiv", "arxiv_api": "arXiv"}


@dataclass(frozen=True, slots=True)
class SourceDay:
    """One enabled source as its row stands, and how many papers it announced on the day."""

    name: str
    kind: str
    last_success_at: datetime | None
    last_error_at: datetime | None
    consecutive_failures: int
    items_last_poll: int | None = None
    papers: int = 0

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.name)


Quiet = Literal["weekend", "holiday", "late"]


@dataclass(frozen=True, slots=True)
class DayStatus:
    day: date
    papers: int  # papers announced that day, from every source
    down: tuple[str, ...] = ()  # labels of the sources that could not be reached
    down_since: datetime | None = None  # their last success (the earliest); None: never
    fed: tuple[str, ...] = ()  # labels of the sources the day's papers came from
    quiet: tuple[str, ...] = ()  # labels of the sources that announced nothing
    reason: Quiet | None = None  # why arXiv was quiet, when it was

    @property
    def ok(self) -> bool:
        return self.line() is None

    def line(self, today: date | None = None) -> str | None:
        """The one line for readers, None when there is nothing to tell. TODAY is the reader's
        date: the day is "today" when it is that day, else it is named ("on Dec 1")."""
        rest = f"; these are {_possessive(_joined(self.fed))} papers." if self.fed else "."
        if self.down:
            since = f" since {_moment(self.down_since, self.day)}" if self.down_since else ""
            if not self.fed:
                rest = f"; no papers came in for {'today' if today == self.day else _short(self.day)}."
            return f"{_joined(self.down)} could not be reached{since}{rest}"
        if self.reason == "late":
            whose = "today's" if today == self.day else f"{_short(self.day)}'s"
            verb = "has" if len(self.quiet) == 1 else "have"
            return f"{_joined(self.quiet)} {verb} not announced {whose} papers yet{rest}"
        when = "today" if today == self.day else f"on {_short(self.day)}"
        if self.reason is not None:
            return f"{_joined(self.quiet)} announced nothing {when} ({self.reason}){rest}"
        if self.papers == 0 and self.quiet:  # no sources at all: nothing is known, nothing is told
            return f"{_joined(self.quiet)} announced nothing {when}."
        return None


def day_status(day: date, sources: Sequence[SourceDay], now: datetime) -> DayStatus:
    """What happened to DAY's papers, judged at NOW from the sources' state (see the module doc)."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    total = sum(s.papers for s in sources)
    if not sources:
        return DayStatus(day, total)  # no source known: nothing to tell
    fed = _labels(s for s in sources if s.papers > 0)
    down = [s for s in sources if _down(s, start, end)]
    if down:
        since = [s.last_success_at for s in down]
        earliest = None if None in since else min(t for t in since if t is not None)
        return DayStatus(day, total, down=_labels(down), down_since=earliest, fed=fed)
    arxiv = [s for s in sources if s.kind in ARXIV_KINDS and s.papers == 0]
    reasons = [r for r in (_quiet_reason(s, day, start, end, now) for s in arxiv) if r is not None]
    if reasons:
        # One reason for the line: the most telling (a weekend over a holiday over being late).
        reason = min(reasons, key=("weekend", "holiday", "late").index)
        return DayStatus(day, total, fed=fed, quiet=_labels(arxiv), reason=reason)
    if total == 0:  # and no arXiv source to tell why: the day may still be filling
        return DayStatus(day, 0, quiet=_labels(sources), reason="late" if now < end else None)
    return DayStatus(day, total, fed=fed)


def _down(source: SourceDay, start: datetime, end: datetime) -> bool:
    if source.consecutive_failures <= 0 or source.last_error_at is None or source.last_error_at < start:
        return False
    return source.last_success_at is None or source.last_success_at < end


def _quiet_reason(source: SourceDay, day: date, start: datetime, end: datetime, now: datetime) -> Quiet | None:
    if day.weekday() >= 5:
        return "weekend"
    success = source.last_success_at
    if success is None or success < start:
        return "late" if now >= start else None  # not polled since the day began
    if success < end:  # its latest poll was on the day: the feed says which
        return "holiday" if source.items_last_poll == 0 else "late"
    return "holiday"  # polled since, and still nothing of that weekday


def _labels(sources: Iterable[SourceDay]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.label for s in sources))


def _joined(labels: Sequence[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + f" and {labels[-1]}"


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _short(day: date) -> str:
    return f"{day:%b} {day.day}"  # "Dec 1", whatever the locale


def _moment(at: datetime, day: date) -> str:
    at = at.astimezone(UTC)
    clock = f"{at:%H:%M} UTC"
    return clock if at.date() == day else f"{_short(at.date())}, {clock}"


# -- the edge ----------------------------------------------------------------------------------


def load_day_status(session: Session, day: date, now: datetime) -> DayStatus:
    """``day_status`` for DAY from the database: every enabled source's row and how many of the
    day's papers each reported (one query over the day's papers, ix_papers_announced_on)."""
    counts: Counter[str] = Counter()
    for names in session.scalars(select(Paper.source_names).where(Paper.announced_on == day)):
        counts.update(set(names or []))
    rows = session.scalars(select(Source).where(Source.enabled.is_(True)).order_by(Source.name))
    sources = [
        SourceDay(s.name, s.kind, s.last_success_at, s.last_error_at, s.consecutive_failures, s.items_last_poll,
                  counts[s.name])
        for s in rows
    ]
    return day_status(day, sources, now)
