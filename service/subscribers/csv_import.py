"""Importing a subscriber CSV: checked rows (service.subscribers.csv_format.parse_rows) in, batch inserts out.

Rows are inserted a batch at a time (one duplicate lookup and one multi-row INSERT per batch),
each batch in its own transaction, so 10,000 rows take a second or two and a failure costs at
most one batch. A dry run does every check, the database's duplicates included, and writes nothing.

Rows whose address is already a subscriber's are duplicates (skipped), or with ``update`` the
existing subscriber's preferences are updated from the row (only the preferences the row
states: ``GoodRow.given``). Either way an existing subscriber's status never changes and no
confirmation mail is queued for them: re-importing an export mails nobody.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import Settings
from service.subscribers.csv_format import GoodRow, RowIssue, import_status
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.preferences import Preferences
from service.subscribers.store import apply_preferences, preferences_of

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
    update: bool = False  # existing addresses: preferences updated from the row, not skipped
    updated: int = 0  # existing subscribers whose preferences the rows changed
    unchanged: int = 0  # existing subscribers the rows matched as they were

    @property
    def total(self) -> int:
        return sum(self.imported.values())

    def issue_counts(self) -> Counter[str]:
        return Counter(issue.kind.replace("_", " ") for issue in self.issues)

    def summary(self) -> str:
        verb = "dry run: would import" if self.dry_run else "imported"
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(self.imported.items())) or "none"
        line = f"{verb} {self.total} ({statuses})"
        if self.update:
            updating = "would update" if self.dry_run else "updated"
            line += f"; {updating} {self.updated} existing ({self.unchanged} unchanged)"
        line += f"; skipped {len(self.issues)}"
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


def updated_preferences(current: Preferences, row: GoodRow) -> Preferences:
    """CURRENT with what ROW states (its ``given`` fields) in place; ValidationError if the mix
    is invalid."""
    merged = current.model_dump()
    merged.update({name: getattr(row.prefs, name) for name in row.given})
    return Preferences.model_validate(merged)


def _update(subscriber: Subscriber, row: GoodRow, report: ImportReport, now: datetime) -> None:
    try:
        new = updated_preferences(preferences_of(subscriber), row)
    except ValidationError as exc:
        report.issues.append(RowIssue(row.line, row.email, "bad_value", exc.errors()[0]["msg"]))
        return
    if new == preferences_of(subscriber):
        report.unchanged += 1
        return
    report.updated += 1
    if not report.dry_run:
        apply_preferences(subscriber, new)
        subscriber.updated_at = now


def import_batch(session: Session, batch: list[GoodRow], report: ImportReport, now: datetime,
                 confirming: bool) -> list[int]:
    """Insert BATCH (existing addresses reported as duplicates, or updated in update mode);
    returns the ids imported as pending (the only ones that get a confirmation mail)."""
    emails = [row.email for row in batch]
    if report.update:
        found = {sub.email: sub for sub in session.scalars(select(Subscriber).where(Subscriber.email.in_(emails)))}
        existing = set(found)
    else:
        existing = set(session.scalars(select(Subscriber.email).where(Subscriber.email.in_(emails))))
    fresh: list[tuple[GoodRow, str]] = []
    for row in batch:
        if row.email in existing and report.update and found[row.email].status != "erased":
            _update(found[row.email], row, report, now)
        elif row.email in existing:
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
    update: bool = False,
) -> ImportReport:
    """Import ROWS; broken and duplicate rows go to the report and never stop the others. With
    UPDATE, rows for existing subscribers update their preferences instead of being duplicates.
    service.actions.subscribers.import_subscribers is the action around it (with its audit row)."""
    report = ImportReport(dry_run=dry_run, confirmed=confirmed, confirmations_queued=0 if confirm else None,
                          update=update)
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
