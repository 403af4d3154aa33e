"""`papermail demo`: bundled sample papers, the sample cast, their digests into the outbox."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from config.settings import Settings
from service.actions.subscribers import add_subscriber
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import Delivery, Subscriber
from service.demo.cast import CAST, DemoSubscriber, sample_papers_path
from service.mail.toolkit import DeliveryTools
from service.digests.run import run_foreground
from service.ingest.poll import PollSummary, ingest_document
from service.subscribers.preferences import Preferences
from service.subscribers.store import find_by_email


@dataclass
class DemoResult:
    ingest: PollSummary
    new_subscribers: int
    sent: int
    skipped: int
    outbox: Path
    # What an earlier run left, so a second run can say why it added and sent nothing.
    existing_subscribers: int = 0
    sent_before: int = 0  # the cast's digests sent by earlier runs (one per reader per day)

    @property
    def nothing_new(self) -> bool:
        return self.new_subscribers == 0 and self.sent == self.skipped == 0 and self.existing_subscribers > 0


def preferences(member: DemoSubscriber) -> Preferences:
    return Preferences(
        topics=member.topics, keywords=member.keywords, exclude=member.exclude, authors=member.authors,
        frequency=member.frequency, send_hour=member.send_hour, timezone=member.timezone,
        min_upvotes=member.min_upvotes, max_papers=member.max_papers,
    )


def sample_papers_for(day: date) -> bytes:
    """The bundled sample papers as if their last daily list were DAY's (their spread of days
    kept): a digest carries only papers of its reader's days, and the samples are from Nov 2026."""
    items = json.loads(sample_papers_path().read_bytes())
    dated = [item["paper"] for item in items if isinstance(item.get("paper", {}).get("submittedOnDailyAt"), str)]
    if not dated:
        return sample_papers_path().read_bytes()
    newest = max(datetime.fromisoformat(p["submittedOnDailyAt"]) for p in dated)
    shift = timedelta(days=(day - newest.date()).days)
    for paper in dated:
        for field in ("submittedOnDailyAt", "publishedAt"):
            if isinstance(paper.get(field), str):
                paper[field] = (datetime.fromisoformat(paper[field]) + shift).isoformat().replace("+00:00", "Z")
    return json.dumps(items).encode()


def run_demo(settings: Settings, now: datetime | None = None) -> DemoResult:
    """Offline and idempotent: a second run finds today's digests sent and sends nothing."""
    now = now or datetime.now(UTC)
    demo = settings.model_copy(update={"mail_backend": "outbox"})  # the demo never mails anyone
    migrate.upgrade(demo)
    summary = ingest_document(demo, sample_papers_for(now.date()), source_name="demo", fmt="hf", now=now)
    created = existing = 0
    with session_scope(demo) as session:
        for member in CAST:
            if find_by_email(session, member.email) is None:
                # Confirmed two days ago, so today's send moment (hour 0) is already theirs.
                add_subscriber(session, member.email, preferences(member), confirmed=True, actor="demo",
                               now=now - timedelta(days=2))
                created += 1
            else:
                existing += 1
        sent_before = session.scalar(
            select(func.count()).select_from(Delivery).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Subscriber.email.in_([member.email for member in CAST]), Delivery.status == "sent")
        ) or 0
    _, outcome = run_foreground(demo, now, DeliveryTools.from_settings(demo))
    return DemoResult(summary, created, outcome.sent, outcome.skipped, demo.outbox_dir,
                      existing_subscribers=existing, sent_before=sent_before)
