"""A reader's seed papers ("more like these"): add from references, add a chosen paper, remove,
and "reset what you learned" (every vote and seed). The one place that writes ``seeds`` rows
and their audit entries; the preferences page, the CLI and the API all call these.

An arXiv reference is stored whether or not the paper is in the database yet (``paper_id``
NULL until it is; the matcher resolves those as papers arrive). A title that names exactly one
paper is stored as that paper (by its arXiv id when it has one, which survives a corrected
title); one that names several is not stored but handed back with the candidates, so the page
can ask which was meant; one that names none waits by its title.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.admin import audit
from service.storage.models import Paper, Seed, Subscriber, Vote
from service.subscribers.seed_refs import SeedRef

MAX_SEEDS = 500  # per reader: beyond this a profile stops being "papers like these"
CHOICES_SHOWN = 10  # candidates offered for an ambiguous title
AUDITED_REFS = 50  # refs listed in one audit entry (the count is always exact)


@dataclass(frozen=True)
class PaperChoice:
    paper_id: int
    title: str
    arxiv_id: str | None
    authors: tuple[str, ...]
    first_seen_at: datetime


@dataclass(frozen=True)
class AmbiguousTitle:
    title: str
    choices: tuple[PaperChoice, ...]

    def describe(self) -> str:
        """One line for the CLI and the API, which cannot ask back."""
        named = ", ".join(f"arXiv {c.arxiv_id}" if c.arxiv_id else f"paper {c.paper_id}" for c in self.choices)
        return f"{self.title!r} is the title of {len(self.choices)} papers ({named}): name the one you mean by its arXiv id"


@dataclass
class SeedsAdded:
    added: list[SeedRef] = field(default_factory=list)
    already: int = 0  # were seeds before
    ambiguous: list[AmbiguousTitle] = field(default_factory=list)
    over_limit: int = 0  # not stored: the reader has MAX_SEEDS

    def summary(self) -> str:
        parts = [f"{len(self.added)} seed paper{'' if len(self.added) == 1 else 's'} added"]
        if self.already:
            parts.append(f"{self.already} already there")
        if self.ambiguous:
            parts.append(f"{len(self.ambiguous)} title{'' if len(self.ambiguous) == 1 else 's'} matching several papers")
        if self.over_limit:
            parts.append(f"{self.over_limit} not added: at most {MAX_SEEDS} seed papers")
        return ", ".join(parts)


def _key(kind: str, ref: str) -> tuple[str, str]:
    return (kind, ref.casefold() if kind == "title" else ref.lower())


def _choice(paper: Paper) -> PaperChoice:
    return PaperChoice(paper.id, paper.title, paper.arxiv_id, tuple(paper.authors[:3]), paper.first_seen_at)


def _papers_by_title(session: Session, titles: Sequence[str]) -> dict[str, list[Paper]]:
    if not titles:
        return {}
    # SQL's lower() folds ASCII only on SQLite and all of Unicode on PostgreSQL: ask for both
    # spellings, then compare in Python.
    wanted = {t.lower() for t in titles} | {"".join(c.lower() if c.isascii() else c for c in t) for t in titles}
    rows = session.scalars(select(Paper).where(func.lower(Paper.title).in_(sorted(wanted)))
                           .order_by(Paper.first_seen_at.desc(), Paper.id))
    found: dict[str, list[Paper]] = {}
    for paper in rows:
        found.setdefault(paper.title.lower(), []).append(paper)
    return found


def _papers_by_arxiv(session: Session, ids: Sequence[str]) -> dict[str, int]:
    if not ids:
        return {}
    rows = session.execute(select(Paper.id, Paper.arxiv_id).where(Paper.arxiv_id.in_(ids)))
    return {arxiv_id: paper_id for paper_id, arxiv_id in rows if arxiv_id}


class _Adder:
    """Inserts seeds for one reader, once each, up to MAX_SEEDS."""

    def __init__(self, session: Session, subscriber: Subscriber, now: datetime) -> None:
        self.session, self.subscriber, self.now = session, subscriber, now
        existing = session.execute(select(Seed.kind, Seed.ref).where(Seed.subscriber_id == subscriber.id)).all()
        self.seen = {_key(kind, ref) for kind, ref in existing}
        self.result = SeedsAdded()

    def add(self, kind: str, ref: str, paper_id: int | None) -> None:
        if _key(kind, ref) in self.seen:
            self.result.already += 1
            return
        if len(self.seen) >= MAX_SEEDS:
            self.result.over_limit += 1
            return
        self.seen.add(_key(kind, ref))
        self.session.add(Seed(subscriber_id=self.subscriber.id, kind=kind, ref=ref, paper_id=paper_id,
                              created_at=self.now))
        self.result.added.append(SeedRef(kind, ref))  # type: ignore[arg-type]

    def add_paper(self, paper: Paper) -> None:
        if paper.arxiv_id:
            self.add("arxiv", paper.arxiv_id, paper.id)
        else:
            self.add("title", paper.title, paper.id)

    def finish(self, actor: str) -> SeedsAdded:
        added = self.result.added
        if added:
            self.session.flush()
            audit.record(self.session, actor, "seeds.add", "subscriber", self.subscriber.id, None, {
                "count": len(added), "refs": [f"{r.kind}:{r.ref}" for r in added[:AUDITED_REFS]],
            })
        return self.result


def add_seeds(session: Session, subscriber: Subscriber, refs: Iterable[SeedRef], actor: str,
              now: datetime) -> SeedsAdded:
    """Store REFS as SUBSCRIBER's seeds (see the module doc for titles); already-known ones are
    counted, not repeated."""
    refs = list(refs)
    by_id = _papers_by_arxiv(session, [r.ref for r in refs if r.kind == "arxiv"])
    by_title = _papers_by_title(session, [r.ref for r in refs if r.kind == "title"])
    adder = _Adder(session, subscriber, now)
    for ref in refs:
        if ref.kind == "arxiv":
            adder.add("arxiv", ref.ref, by_id.get(ref.ref))
            continue
        papers = by_title.get(ref.ref.lower(), [])
        if len(papers) == 1:
            adder.add_paper(papers[0])
        elif papers:
            adder.result.ambiguous.append(AmbiguousTitle(ref.ref, tuple(_choice(p) for p in papers[:CHOICES_SHOWN])))
        else:
            adder.add("title", ref.ref, None)
    return adder.finish(actor)


def add_seed_papers(session: Session, subscriber: Subscriber, paper_ids: Iterable[int], actor: str,
                    now: datetime) -> SeedsAdded:
    """Store papers the reader picked (the answer to "which one did you mean?")."""
    adder = _Adder(session, subscriber, now)
    ids = sorted(set(paper_ids))
    for paper in session.scalars(select(Paper).where(Paper.id.in_(ids)).order_by(Paper.id)) if ids else []:
        adder.add_paper(paper)
    return adder.finish(actor)


def remove_seed(session: Session, subscriber: Subscriber, seed_id: int, actor: str) -> bool:
    """Remove one of SUBSCRIBER's seeds; False when they have no such seed."""
    seed = session.get(Seed, seed_id)
    if seed is None or seed.subscriber_id != subscriber.id:
        return False
    snapshot = {"kind": seed.kind, "ref": seed.ref, "paper_id": seed.paper_id}
    session.delete(seed)
    session.flush()
    audit.record(session, actor, "seeds.remove", "subscriber", subscriber.id, snapshot, None)
    return True


def reset_learned(session: Session, subscriber: Subscriber, actor: str) -> tuple[int, int]:
    """Forget every vote and seed of SUBSCRIBER: (votes, seeds) deleted. The reader's own
    settings (topics, keywords, authors) are not learned and stay."""
    votes = session.execute(delete(Vote).where(Vote.subscriber_id == subscriber.id)).rowcount  # type: ignore[attr-defined]
    seeds = session.execute(delete(Seed).where(Seed.subscriber_id == subscriber.id)).rowcount  # type: ignore[attr-defined]
    if votes or seeds:
        audit.record(session, actor, "learned.reset", "subscriber", subscriber.id,
                     {"votes": votes, "seeds": seeds}, {"votes": 0, "seeds": 0})
    return votes, seeds


@dataclass(frozen=True)
class SeedView:
    seed_id: int
    kind: str
    ref: str
    paper_id: int | None
    title: str | None  # the paper's, once it is known
    url: str | None


def seeds_of(session: Session, subscriber_id: int) -> list[SeedView]:
    """The reader's seeds, oldest first, each with its paper when known — by the stored paper_id
    or, for a seed still waiting, by its arXiv id or title (as the matcher resolves them)."""
    seeds = session.scalars(select(Seed).where(Seed.subscriber_id == subscriber_id).order_by(Seed.id)).all()
    wanted_ids = {s.paper_id for s in seeds if s.paper_id is not None}
    papers = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(wanted_ids)))} if wanted_ids else {}
    waiting_ids = _papers_by_arxiv(session, [s.ref for s in seeds if s.paper_id is None and s.kind == "arxiv"])
    waiting_titles = _papers_by_title(session, [s.ref for s in seeds if s.paper_id is None and s.kind == "title"])
    late = [pid for pid in waiting_ids.values() if pid not in papers]
    if late:
        papers.update({p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(late)))})
    views = []
    for seed in seeds:
        paper: Paper | None = papers.get(seed.paper_id) if seed.paper_id is not None else None
        if paper is None and seed.kind == "arxiv" and seed.ref in waiting_ids:
            paper = papers.get(waiting_ids[seed.ref])
        if paper is None and seed.kind == "title":
            matches = waiting_titles.get(seed.ref.lower(), [])
            paper = matches[0] if len(matches) == 1 else None
        views.append(SeedView(seed.id, seed.kind, seed.ref, paper.id if paper else seed.paper_id,
                              paper.title if paper else None, (paper.hf_url or paper.abs_url) if paper else None))
    return views
