"""Importing a subscriber CSV: checked rows (service.subscribers.csv_format.parse_rows) in, batch inserts out.

Rows are inserted a batch at a time (one duplicate lookup and one multi-row INSERT per batch),
each batch in its own transaction, so 10,000 rows take a second or two and a failure costs at
most one batch. A dry run does every check, the database's duplicates included, and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import Settings
from service.subscribers.csv_format import GoodRow, RowIssue, import_status
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.store import apply_preferences

BATCH_SIZE = 1000

# Given the ids of rows imported (and committed) as pending, queues their confirmation mails;
# returns how many. Without one, pending rows are imported without mail.
ConfirmHook = Callable[[list[int]], int]


@dataclass
class ImportReport:
    dry_run: bool
    confirmed: bool
    imported: Counter[str] = field(default_factory=Counter)  # by status
    issues: list[RowIssue] = field(default_factory=list)
    confirmations_queued: int | None = None  # None: no confirmation mail service to queue them on

    @property
    def total(self) -> int:
        return sum(self.imported.values())

    def issue_counts(self) -> Counter[str]:
        return Counter(issue.kind.replace("_", " ") for issue in self.issues)

    def summary(self) -> str:
        verb = "dry run: would import" if self.dry_run else "imported"
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(self.imported.items())) or "none"
        line = f"{verb} {self.total} ({statuses}); skipped {len(self.issues)}"
        if self.issues:
            line += " (" + ", ".join(f"{kind} {n}" for kind, n in sorted(self.issue_counts().items())) + ")"
        if self.imported.get("pending") and not self.dry_run:
            if self.confirmations_queued is None:
                line += "; pending rows got no confirmation mail"
            else:
                line += f"; {self.confirmations_queued} confirmation mails queued"
        return line


def row_values(row: GoodRow, status: str, now: datetime, confirming: bool) -> dict[str, Any]:
    """The INSERT values of one row; the schedule columns come from apply_preferences."""
    holder = Subscriber()
    apply_preferences(holder, row.prefs)
    return {
        "email": row.email, "status": status, "preferences": holder.preferences, "timezone": holder.timezone,
        "send_hour": holder.send_hour, "frequency": holder.frequency, "weekly_day": holder.weekly_day,
        "token_version": 1, "soft_bounces": 0, "created_at": now, "updated_at": now,
        "confirmed_at": now if status in ("active", "paused") else None,
        "unsubscribed_at": now if status == "unsubscribed" else None,
        "suppressed_reason": "imported as suppressed" if status == "suppressed" else None,
        "confirmation_sent_at": now if confirming and status == "pending" else None,
    }


def _insert(session: Session, values: list[dict[str, Any]]) -> list[int]:
    return list(session.scalars(insert(Subscriber).returning(Subscriber.id), values))


def import_batch(session: Session, batch: list[GoodRow], report: ImportReport, now: datetime,
                 confirming: bool) -> list[int]:
    """Insert BATCH (duplicates reported, not inserted); returns the ids imported as pending."""
    emails = [row.email for row in batch]
    existing = set(session.scalars(select(Subscriber.email).where(Subscriber.email.in_(emails))))
    fresh: list[tuple[GoodRow, str]] = []
    for row in batch:
        if row.email in existing:
            report.issues.append(RowIssue(row.line, row.email, "duplicate", f"{row.email} is already subscribed"))
        else:
            fresh.append((row, import_status(row.status, report.confirmed)))
    if report.dry_run or not fresh:
        report.imported.update(status for _, status in fresh)
        return []
    values = [row_values(row, status, now, confirming) for row, status in fresh]
    try:
        with session.begin_nested():
            ids = _insert(session, values)
        kept = list(zip(ids, (status for _, status in fresh), strict=True))
    except IntegrityError:
        # Someone added one of these addresses since the lookup: row by row, losing only that one.
        kept = []
        for (row, status), row_value in zip(fresh, values, strict=True):
            try:
                with session.begin_nested():
                    kept.append((_insert(session, [row_value])[0], status))
            except IntegrityError:
                report.issues.append(RowIssue(row.line, row.email, "duplicate", f"{row.email} is already subscribed"))
    report.imported.update(status for _, status in kept)
    return [id_ for id_, status in kept if status == "pending"]


def import_rows(
    settings: Settings,
    rows: Iterable[GoodRow | RowIssue],
    *,
    confirmed: bool,
    dry_run: bool,
    now: datetime,
    on_row: Callable[[int], None] | None = None,
    confirm: ConfirmHook | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import ROWS; broken and duplicate rows go to the report and never stop the others.
    service.actions.subscribers.import_subscribers is the action around it (with its audit row)."""
    report = ImportReport(dry_run=dry_run, confirmed=confirmed, confirmations_queued=0 if confirm else None)
    batch: list[GoodRow] = []

    def flush() -> None:
        with session_scope(settings) as session:
            pending = import_batch(session, batch, report, now, confirm is not None)
        if confirm is not None and pending:  # queued only once their rows are committed
            report.confirmations_queued = (report.confirmations_queued or 0) + confirm(pending)
        batch.clear()

    for row in rows:
        if isinstance(row, RowIssue):
            report.issues.append(row)
        else:
            batch.append(row)
            if len(batch) >= batch_size:
                flush()
        if on_row is not None:
            on_row(row.line)
    if batch:
        flush()
    report.issues.sort(key=lambda issue: issue.line)
    return report
