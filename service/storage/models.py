"""The database schema, as SQLAlchemy 2 typed models. Alembic migrations mirror this file.

Every datetime column is stored as UTC. JSON columns hold lists/dicts that are read whole
(authors, categories, preferences); anything queried by value has its own column or table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

# Deterministic constraint names so migrations can drop them on both SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which drops tzinfo) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Paper(Base):
    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "arxiv:<bare id>" or "<source kind>:<guid>": the cross-source dedupe key.
    uid: Mapped[str] = mapped_column(String(512), unique=True)
    arxiv_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    arxiv_version: Mapped[int | None]
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(default=list)
    categories: Mapped[list[str]] = mapped_column(default=list)
    primary_category: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[datetime | None]
    # The day the paper's source announced it (HF's daily date, arXiv's announcement date, a
    # feed's published date): the day it belongs to on the front page and in a digest's "new"
    # window. Never ingestion time, so a backfill or an old file is never news.
    announced_on: Mapped[date | None] = mapped_column(Date, index=True)
    # Never moves once set: a re-announcement or re-poll does not make an old paper new.
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Set by ingestion to the poll's time when metadata changed (not on re-classification).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    abs_url: Mapped[str | None] = mapped_column(String(1024))
    pdf_url: Mapped[str | None] = mapped_column(String(1024))
    hf_url: Mapped[str | None] = mapped_column(String(1024))
    upvotes: Mapped[int] = mapped_column(default=0)
    # The upvotes the paper had when its day (announced_on, UTC) ended; None on rows from before
    # migration 0007 had it. A reader's min_upvotes crossed later than that is news ("now
    # trending", service/digests/window.py); ingestion stops moving it once the day is over.
    day_upvotes: Mapped[int | None]
    # When a code link first appeared after the paper's day ("code released"); None when the
    # paper came with code, or has none.
    code_added_at: Mapped[datetime | None]
    num_comments: Mapped[int | None]
    organization: Mapped[str | None] = mapped_column(String(256))
    github_repo: Mapped[str | None] = mapped_column(String(1024))
    github_stars: Mapped[int | None]
    project_page: Mapped[str | None] = mapped_column(String(1024))
    thumbnail: Mapped[str | None] = mapped_column(String(1024))
    ai_summary: Mapped[str | None] = mapped_column(Text)
    ai_keywords: Mapped[list[str]] = mapped_column(default=list)
    # Names of the sources that reported this paper (subscribers may filter on them).
    source_names: Mapped[list[str]] = mapped_column(default=list)
    # Taxonomy version the topics were computed with: a changed taxonomy re-classifies.
    taxonomy_version: Mapped[str | None] = mapped_column(String(64))
    # The paper's term counts over title + abstract, computed once at ingest
    # (service.matching owns the format): the learned profiles are built from these.
    term_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # Read-only: paper_topics rows are written in bulk by service.topics.store.
    topics: Mapped[list[Topic]] = relationship(secondary="paper_topics", lazy="selectin", viewonly=True)


# Full-text search over papers lives beside the models (migration 0005), derived from title,
# abstract and authors by the database itself: on SQLite the FTS5 table papers_fts (and its shadow
# tables papers_fts_*) kept in step by triggers, on PostgreSQL the GIN expression index
# ix_papers_search. Schema comparison (migrations/env.py, the migration tests) leaves them out.
SEARCH_OBJECTS = ("papers_fts", "ix_papers_search")


def is_search_object(name: str | None) -> bool:
    return name is not None and (name in SEARCH_OBJECTS or name.startswith("papers_fts_"))


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    poll_interval_minutes: Mapped[int] = mapped_column(default=60)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Conditional GET state.
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    content_changed_at: Mapped[datetime | None]
    # Poll state and health.
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    items_last_poll: Mapped[int | None]
    new_last_poll: Mapped[int | None]
    errors_last_poll: Mapped[int | None]
    next_poll_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(default=list)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaperTopic(Base):
    __tablename__ = "paper_topics"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    # Indexed on its own for "papers in topic X" (the PK only serves lookups by paper).
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Subscriber(Base):
    __tablename__ = "subscribers"
    __table_args__ = (
        # The planner streams active subscribers by id; status+id keeps that an index range scan.
        Index("ix_subscribers_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased (domain and local part): one row per mailbox, case-insensitively.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # pending | active | paused | unsubscribed | suppressed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    send_hour: Mapped[int] = mapped_column(default=8)
    # daily | weekdays | weekly
    frequency: Mapped[str] = mapped_column(String(16), default="daily")
    weekly_day: Mapped[int] = mapped_column(default=0)  # 0 = Monday, for weekly
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Bumped to revoke every link (preferences, unsubscribe, feed) issued so far.
    token_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    confirmation_sent_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    last_digest_at: Mapped[datetime | None]
    suppressed_reason: Mapped[str | None] = mapped_column(Text)
    soft_bounces: Mapped[int] = mapped_column(default=0)
    pending_email: Mapped[str | None] = mapped_column(String(320))


class Delivery(Base):
    """One digest for one subscriber and one period. The UNIQUE row is the exactly-once gate."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "period", name="uq_deliveries_subscriber_period"),
        # The re-enqueue sweep looks for old claimed/sending rows.
        Index("ix_deliveries_status_claimed_at", "status", "claimed_at"),
        Index("ix_deliveries_status_enqueued_at", "status", "enqueued_at"),
        # Which deliveries may hold a paper: those whose highest paper id is no lower than its id
        # (window.already_sent, votes). Partial, so that a row gets its entry once, when recorded
        # sent, and not with every earlier update of its claim.
        Index("ix_deliveries_subscriber_last_paper", "subscriber_id", "last_paper_id",
              postgresql_where=text("last_paper_id IS NOT NULL"), sqlite_where=text("last_paper_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    # "2026-11-27" for daily/weekdays, "2026-W48" for weekly.
    period: Mapped[str] = mapped_column(String(16))
    # claimed | sending | sent | failed | skipped
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Last time a batch holding this delivery was put on the queue; the planner re-enqueues
    # claimed/sending rows whose enqueue is older than DELIVERY_STALE_MINUTES.
    enqueued_at: Mapped[datetime | None]
    # Which enqueue of this row is current: only the task carrying it may take over a row left
    # 'sending' by a dead worker, so a late duplicate of an older task cannot send it twice.
    batch_token: Mapped[str | None] = mapped_column(String(32))
    # The UTC moment the period's digest became due (its "date" in the subject and archive).
    due_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    paper_count: Mapped[int | None]
    # What a sent digest held, in rank order, written with the send (digests.record): the papers'
    # ids and, one for one, why each was picked (record.reasons_record; None once erased). A
    # paper already sent to a subscriber is never offered again (window.already_sent). On the
    # delivery's own row since migration 0009: a row per paper cost PostgreSQL ten rows and
    # twenty index entries a send. Deferred: the ORM loads them only where they are read.
    paper_ids: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True), deferred=True,
                                                        deferred_group="papers")
    reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True), deferred=True,
                                                                 deferred_group="papers")
    # max(paper_ids), kept by ``_last_paper`` (the ledger's SQL writes it itself).
    last_paper_id: Mapped[int | None]

    @validates("paper_ids")
    def _last_paper(self, _key: str, paper_ids: list[int] | None) -> list[int] | None:
        self.last_paper_id = max(paper_ids) if paper_ids else None
        return paper_ids


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # owner | viewer (service.admin.roles): what this admin may do on every /admin page.
    role: Mapped[str] = mapped_column(String(16), default="owner", server_default="owner")
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    # sha256 of the token: the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # owner | viewer, as for admins: a viewer token reads and never changes.
    role: Mapped[str] = mapped_column(String(16), default="owner", server_default="owner")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditLog(Base):
    __tablename__ = "audit_log"
    # An object's history (its page links to it; erase looks a subscriber's rows up) is a seek.
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))  # admin email, "api:<token name>", "system"
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Bounce(Base):
    """Every bounce and complaint papermail heard of, whatever it changed: the operator's log
    (/admin/bounces) and a subscriber's history. Written by ``service.actions.bounces`` only."""

    __tablename__ = "bounces"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # hard | soft | complaint
    # As reported (lower-cased when valid); "[erased]" once its subscriber is erased.
    address: Mapped[str] = mapped_column(String(320), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("deliveries.id", ondelete="SET NULL"))
    # smtp (a digest refused in the SMTP session) | webhook (a provider's notification) | inbound (mail)
    source: Mapped[str] = mapped_column(String(16))
    # The webhook's format (ses, postmark, generic) or the inbound channel (smtp, lmtp, imap).
    detail: Mapped[str] = mapped_column(String(32), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")  # the raw reply or reason, as received
    # suppressed | counted | already_suppressed | unknown_address | invalid_address | ...
    outcome: Mapped[str] = mapped_column(String(32))


class Vote(Base):
    """A reader's 👍 (+1) or 👎 (-1) on a paper, from a digest link or the web; one per pair.

    Keyed by the paper row, which ingestion never replaces (it upserts on the arXiv id), so a
    vote survives re-ingest. Undoing a vote deletes the row."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("subscriber_id", "paper_id", name="uq_votes_subscriber_paper"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    value: Mapped[int]  # +1 more like this, -1 less like this
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Seed(Base):
    """A paper a reader named for "more like these": by arXiv id or by exact title.

    ``paper_id`` is filled when the paper is (or later gets) ingested; until then the seed waits
    by its reference, so a seed given before its paper arrives is used as soon as it does."""

    __tablename__ = "seeds"
    __table_args__ = (UniqueConstraint("subscriber_id", "kind", "ref", name="uq_seeds_subscriber_kind_ref"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # arxiv | title
    # The bare arXiv id ("2406.01234"), or the title as typed (matched case-insensitively).
    ref: Mapped[str] = mapped_column(String(1024))
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("papers.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
