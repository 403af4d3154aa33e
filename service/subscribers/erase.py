"""Erasing a subscriber: their personal data goes from every place papermail stored it, the
anonymous counts stay.

The subscriber row is kept as a tombstone (status ``erased``, address
``erased-<id>@erased.invalid``, default preferences, every link revoked): deliveries and the
papers they carried stay counted per day and per paper, the subscriber timeline keeps its
dates, and nothing left can be tied back to the person. Scrubbed:

- the row's address, pending address change and preferences (topics, keywords, authors, zone);
- another subscriber's pending address change to this address;
- delivery error texts naming the address (SMTP replies quote it), from anyone's deliveries;
- the match reasons of the papers sent to them (their keywords and authors);
- their votes and seed papers (what they liked says who they are), deleted;
- audit log snapshots about them, and any audit snapshot or actor naming the address;
- their bounce and complaint log rows (``bounces``): the address and its diagnostic texts;
- ``.eml`` files in the outbox addressed to them (deleted after the database commit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select, true, update
from sqlalchemy.orm import Session

from config.settings import Settings

from service.mail.outbox import list_outbox
from service.storage.db import checkpoint_wal
from service.storage.models import AuditLog, Bounce, Delivery, Seed, Subscriber, Vote

ERASED = "erased"
REDACTED = "[erased]"
# Snapshot keys that hold a subscriber's personal data, dropped from their audit rows whole.
PERSONAL_KEYS = ("email", "pending_email", "preferences", "timezone", "send_hour", "weekly_day", "suppressed_reason")


def tombstone_address(subscriber_id: int) -> str:
    # .invalid never resolves (RFC 2606): nothing can ever be sent to a tombstone.
    return f"erased-{subscriber_id}@erased.invalid"


@dataclass
class EraseReport:
    subscriber_id: int
    deliveries_scrubbed: int = 0
    reasons_cleared: int = 0
    audit_rows_scrubbed: int = 0
    bounces_scrubbed: int = 0
    outbox_files: list[Path] = field(default_factory=list)

    def after_commit(self, settings: Settings) -> None:
        """What only the committed erase may do: delete the outbox messages (nothing can roll
        the erase back any more) and, on SQLite, checkpoint the WAL so its older copies of the
        subscriber's pages go too (secure_delete already zeroes the database file's free space)."""
        for path in self.outbox_files:
            path.unlink(missing_ok=True)
        checkpoint_wal(settings)

    def line(self) -> str:
        return (f"subscriber {self.subscriber_id} erased: {self.deliveries_scrubbed} delivery errors, "
                f"{self.reasons_cleared} sent-paper reasons, {self.audit_rows_scrubbed} audit entries scrubbed, "
                f"{len(self.outbox_files)} outbox messages deleted")


def scrub(value: Any, address: str) -> Any:
    """VALUE (text or JSON) with every spelling of ADDRESS replaced by REDACTED."""
    pattern = re.compile(re.escape(address), re.IGNORECASE)
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, dict):
        return {scrub(key, address): scrub(item, address) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, address) for item in value]
    return value


def ascii_needle(address: str) -> str:
    """The longest ASCII run of ADDRESS, lower-cased: what SQL can match case-insensitively on
    both databases (SQLite's lower() folds ASCII only), and what JSON leaves unescaped."""
    runs = re.findall(r"[\x21-\x7e]+", address)
    return max(runs, key=len).lower() if runs else ""


def _may_mention(column: Any, address: str) -> Any:
    """SQL prefilter: rows whose text might hold ADDRESS; scrub() then decides exactly."""
    needle = ascii_needle(address)
    return func.lower(cast(column, Text)).contains(needle, autoescape=True) if len(needle) >= 3 else true()


def _scrub_audit(session: Session, subscriber_id: int, address: str) -> int:
    about_them = (AuditLog.target_type == "subscriber") & (AuditLog.target_id == str(subscriber_id))
    query = select(AuditLog).where(or_(
        about_them, _may_mention(AuditLog.before, address), _may_mention(AuditLog.after, address),
        _may_mention(AuditLog.actor, address),
    ))
    count = 0
    for entry in session.scalars(query):
        theirs = entry.target_type == "subscriber" and entry.target_id == str(subscriber_id)
        old = (entry.before, entry.after, entry.actor)
        for name in ("before", "after"):
            snapshot = getattr(entry, name)
            if isinstance(snapshot, dict) and theirs:
                snapshot = {key: value for key, value in snapshot.items() if key not in PERSONAL_KEYS}
            setattr(entry, name, scrub(snapshot, address))
        entry.actor = scrub(entry.actor, address)
        count += (entry.before, entry.after, entry.actor) != old
    return count


def _scrub_bounces(session: Session, subscriber_id: int, address: str) -> int:
    """Their bounce log rows keep kind, date and outcome (the counts), not the address."""
    query = select(Bounce).where(or_(Bounce.subscriber_id == subscriber_id, func.lower(Bounce.address) == address.lower(),
                                     _may_mention(Bounce.diagnostic, address)))
    count = 0
    for row in session.scalars(query):
        old = (row.address, row.diagnostic)
        if row.subscriber_id == subscriber_id or row.address.casefold() == address.casefold():
            row.address = REDACTED
        row.diagnostic = scrub(row.diagnostic, address)
        count += (row.address, row.diagnostic) != old
    return count


def outbox_files_for(directory: Path, address: str) -> list[Path]:
    """Outbox messages addressed to ADDRESS (headers parsed, and any raw mention)."""
    found = []
    parser = BytesHeaderParser(policy=default_policy)
    needle = address.encode("utf-8")
    for entry in list_outbox(directory):
        data = entry.read_bytes()
        headers = parser.parsebytes(data)
        recipients = {a.addr_spec.lower() for name in ("To", "Cc", "Bcc") for h in headers.get_all(name, [])
                      for a in getattr(h, "addresses", ())}
        if address in recipients or needle in data.lower():
            found.append(entry.path)
    return found


def scrub_personal_data(session: Session, subscriber: Subscriber, now: datetime,
                        outbox_dir: Path | None = None) -> EraseReport:
    """Scrub SUBSCRIBER's personal data in SESSION (the caller commits, then deletes
    report.outbox_files). service.actions.subscribers.erase_subscriber is the action around it."""
    report = EraseReport(subscriber.id)
    addresses = [a for a in {subscriber.email, subscriber.pending_email} if a and subscriber.status != ERASED]
    subscriber.email = tombstone_address(subscriber.id)
    subscriber.status = ERASED
    subscriber.preferences = {}
    subscriber.pending_email = None
    subscriber.timezone, subscriber.send_hour, subscriber.frequency, subscriber.weekly_day = "UTC", 8, "daily", 0
    subscriber.suppressed_reason = None
    subscriber.soft_bounces = 0
    subscriber.token_version += 1
    subscriber.unsubscribed_at = subscriber.unsubscribed_at or now
    subscriber.updated_at = now
    session.flush()  # the address is now free: the scrubbing queries below no longer see the row
    # Digests claimed but not yet sent must not go out to a tombstone.
    session.execute(update(Delivery).where(
        Delivery.subscriber_id == subscriber.id, Delivery.status.in_(("claimed", "sending"))
    ).values(status="skipped", error="subscriber erased"))
    # Why each paper was picked says what the reader asked for; which papers went stays, so that
    # the counts (and the archive's list, were the tombstone ever linked) hold.
    with_reasons = (Delivery.subscriber_id == subscriber.id, Delivery.reasons.is_not(None))
    cleared = session.scalars(select(Delivery.paper_ids).where(*with_reasons))
    report.reasons_cleared = sum(len(ids or ()) for ids in cleared)
    session.execute(update(Delivery).where(*with_reasons).values(reasons=None))
    session.execute(delete(Vote).where(Vote.subscriber_id == subscriber.id))
    session.execute(delete(Seed).where(Seed.subscriber_id == subscriber.id))
    for address in addresses:
        for other in session.scalars(select(Subscriber).where(_may_mention(Subscriber.pending_email, address))):
            if other.pending_email and other.pending_email.casefold() == address.casefold():
                other.pending_email = None
        for delivery in session.scalars(select(Delivery).where(Delivery.error.is_not(None),
                                                               _may_mention(Delivery.error, address))):
            scrubbed = scrub(delivery.error, address)
            if scrubbed != delivery.error:
                delivery.error = scrubbed
                report.deliveries_scrubbed += 1
        report.audit_rows_scrubbed += _scrub_audit(session, subscriber.id, address)
        report.bounces_scrubbed += _scrub_bounces(session, subscriber.id, address)
        if outbox_dir is not None:
            report.outbox_files += outbox_files_for(outbox_dir, address)
    return report
