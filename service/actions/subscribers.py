"""What an operator does to subscribers (the admin pages, the API and the CLI alike): add,
edit, change status, resend a confirmation, send a test digest, export, erase, import."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from config.settings import Settings
from service.admin import audit
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.csv_format import GoodRow, RowIssue
from service.subscribers.csv_import import BATCH_SIZE, ConfirmHook, ImportReport, import_rows
from service.subscribers.erase import ERASED, EraseReport, scrub_personal_data
from service.subscribers.lifecycle import Mail
from service.subscribers.preferences import Preferences
from service.subscribers.store import (
    DuplicateSubscriber,
    apply_preferences,
    change_status,
    create_subscriber,
    find_by_email,
    normalise_email,
)

# Columns an audit entry shows for a change to a subscriber.
AUDITED = ("email", "status", "preferences", "suppressed_reason", "confirmed_at", "unsubscribed_at")
# What an operator may set by hand; "erased" is erase_subscriber's alone (it is not undone).
SETTABLE_STATUSES = ("pending", "active", "paused", "unsubscribed", "suppressed")


class SubscriberErased(Exception):
    """The subscriber is an erased tombstone: nothing about it changes any more."""


def _editable(subscriber: Subscriber) -> None:
    if subscriber.status == ERASED:
        raise SubscriberErased(f"subscriber {subscriber.id} was erased")


def checked_new_address(session: Session, subscriber: Subscriber, raw: str) -> str:
    """RAW as stored, if SUBSCRIBER may take it; InvalidSubscriber or DuplicateSubscriber if not."""
    address = normalise_email(raw)
    other = find_by_email(session, address)
    if other is not None and other.id != subscriber.id:
        raise DuplicateSubscriber(f"email: {address} is already subscribed")
    return address


def add_subscriber(session: Session, email: str, prefs: Preferences, *, confirmed: bool, actor: str,
                   now: datetime) -> Subscriber:
    """A new subscriber, pending unless CONFIRMED (the operator attests consent).
    Raises InvalidSubscriber / DuplicateSubscriber."""
    subscriber = create_subscriber(session, email, prefs, confirmed=confirmed, now=now)
    audit.record(session, actor, "subscriber.create", "subscriber", subscriber.id, None,
                 audit.snapshot(subscriber, AUDITED))
    return subscriber


def edit_subscriber(session: Session, subscriber: Subscriber, *, actor: str, now: datetime,
                    email: str | None = None, prefs: Preferences | None = None) -> None:
    """A new address and/or preferences. Raises SubscriberErased, InvalidSubscriber or
    DuplicateSubscriber before anything changes."""
    _editable(subscriber)
    address = checked_new_address(session, subscriber, email) if email is not None else None
    before = audit.snapshot(subscriber, AUDITED)
    if address is not None:
        subscriber.email = address
    if prefs is not None:
        apply_preferences(subscriber, prefs)
    subscriber.updated_at = now
    audit.record(session, actor, "subscriber.update", "subscriber", subscriber.id,
                 *audit.changed(before, audit.snapshot(subscriber, AUDITED)))


def change_subscriber_status(session: Session, subscriber: Subscriber, status: str, *, actor: str, now: datetime,
                             reason: str | None = None) -> bool:
    """Set STATUS (REASON is kept as the suppression reason); False when it had it already.
    Raises ValueError for a status not in SETTABLE_STATUSES, SubscriberErased for a tombstone."""
    if status not in SETTABLE_STATUSES:
        raise ValueError(f"status: {status!r} is not one an operator sets")
    _editable(subscriber)
    if subscriber.status == status and (status != "suppressed" or reason in (None, subscriber.suppressed_reason)):
        return False
    before = audit.snapshot(subscriber, AUDITED)
    change_status(subscriber, status, reason, now)
    audit.record(session, actor, f"subscriber.status.{status}", "subscriber", subscriber.id,
                 *audit.changed(before, audit.snapshot(subscriber, AUDITED)))
    return True


def resend_confirmation_mail(session: Session, subscriber: Subscriber, *, actor: str, now: datetime) -> Mail | None:
    """A new confirmation mail for a pending subscriber (None for any other status); the
    caller dispatches it after the commit."""
    if subscriber.status != "pending":
        return None
    # A new stamp makes a new message (and Message-ID): this is a second mail, not a retry.
    subscriber.confirmation_sent_at = now
    audit.record(session, actor, "subscriber.resend_confirmation", "subscriber", subscriber.id)
    return Mail("confirm", subscriber.id)


def note_test_digest(session: Session, subscriber: Subscriber, *, actor: str, to: str) -> None:
    """The operator is sending themselves SUBSCRIBER's next digest (it reads their preferences)."""
    _editable(subscriber)
    audit.record(session, actor, "subscriber.test_digest", "subscriber", subscriber.id, None, {"to": to})


def note_export(session: Session, *, actor: str) -> None:
    """Every address is leaving papermail in a CSV: who took it, and when."""
    audit.record(session, actor, "subscribers.export", "subscriber", None)


def erase_subscriber(session: Session, subscriber: Subscriber, *, actor: str, now: datetime,
                     outbox_dir: Path | None = None) -> EraseReport:
    """Remove SUBSCRIBER's personal data everywhere (service.subscribers.erase); the caller
    commits, then calls ``report.after_commit(settings)``. Raises SubscriberErased."""
    _editable(subscriber)
    report = scrub_personal_data(session, subscriber, now, outbox_dir)
    # Written after the scrub, so this row is never scrubbed: it holds nothing personal.
    audit.record(session, actor, "subscriber.erase", "subscriber", subscriber.id, None, {"status": ERASED})
    return report


def import_subscribers(
    settings: Settings,
    rows: Iterable[GoodRow | RowIssue],
    *,
    confirmed: bool,
    dry_run: bool,
    now: datetime,
    actor: str,
    source_name: str = "csv",
    on_row: Callable[[int], None] | None = None,
    confirm: ConfirmHook | None = None,
    batch_size: int = BATCH_SIZE,
    update: bool = False,
) -> ImportReport:
    """Import checked CSV rows (service.subscribers.csv_import): the one action that commits
    itself, a batch per transaction, then one audit row for the whole run (none for a dry run).
    With UPDATE, existing subscribers' preferences are updated from their rows."""
    report = import_rows(settings, rows, confirmed=confirmed, dry_run=dry_run, now=now, on_row=on_row,
                         confirm=confirm, batch_size=batch_size, update=update)
    if not dry_run:
        with session_scope(settings) as session:
            audit.record(session, actor, "subscribers.import", "subscriber", None, None, {
                "source": source_name, "confirmed": confirmed, "imported": dict(report.imported),
                "skipped": dict(report.issue_counts()),
                **({"updated": report.updated} if update else {}),
            })
    return report
