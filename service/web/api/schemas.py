"""Request and response models of /api/v1 (what /docs shows)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from service.subscribers.preferences import Preferences, Weekday

T = TypeVar("T")
SubscriberStatus = Literal["pending", "active", "paused", "unsubscribed", "suppressed", "erased"]
SettableStatus = Literal["pending", "active", "paused", "unsubscribed", "suppressed"]
SourceKind = Literal["hf_daily", "arxiv_rss", "arxiv_api", "feed"]
DeliveryStatus = Literal["claimed", "sending", "sent", "failed", "skipped"]
Health = Literal["never", "ok", "empty", "stale", "broken"]


def check_text(value: str) -> str:
    """Refuse what no database column can hold: NUL (PostgreSQL) and lone surrogates (UTF-8)."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode text") from None
    return value


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_strings(item)


SafeStr = Annotated[str, AfterValidator(check_text)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        _check_strings(data)
        return data


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="How many match the filters, over all pages.")
    limit: int
    offset: int


class SubscriberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    status: SubscriberStatus
    preferences: Preferences
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    last_digest_at: datetime | None
    suppressed_reason: str | None
    soft_bounces: int
    pending_email: str | None


class SubscriberCreate(Input):
    email: str = Field(min_length=3, max_length=320)
    confirmed: bool = Field(False, description="The admin attests consent: active at once, no confirmation mail.")
    preferences: Preferences = Preferences()
    like: list[SafeStr] = Field(default_factory=list, max_length=200, description=(
        'Seed papers for "more like these": arXiv ids, arXiv or Hugging Face paper URLs, or exact titles.'))


class PreferencesPatch(Input):
    """Only the fields given change."""

    topics: list[str] | None = Field(None, max_length=100)
    keywords: list[str] | None = Field(None, max_length=50)
    exclude: list[str] | None = Field(None, max_length=50)
    authors: list[str] | None = Field(None, max_length=50)
    min_upvotes: int | None = Field(None, ge=0)
    max_papers: int | None = Field(None, ge=1, le=50)
    sources: list[str] | None = Field(None, max_length=100)
    frequency: Literal["daily", "weekdays", "weekly"] | None = None
    weekly_day: Weekday | None = None
    send_hour: int | None = Field(None, ge=0, le=23)
    timezone: str | None = Field(None, max_length=64)
    empty_digest: Literal["skip", "notify"] | None = None


class SubscriberUpdate(Input):
    email: str | None = Field(None, min_length=3, max_length=320)
    preferences: PreferencesPatch | None = None


class StatusChange(Input):
    status: SettableStatus
    reason: str | None = Field(None, max_length=500, description="Why (kept as the suppression reason).")


class EraseOut(BaseModel):
    subscriber_id: int
    deliveries_scrubbed: int
    reasons_cleared: int
    audit_rows_scrubbed: int
    outbox_messages_deleted: int


class TopicOut(BaseModel):
    slug: str
    name: str
    description: str
    categories: list[str]
    strong_categories: list[str]
    keywords: list[str]
    title_keywords: list[str]
    exclude: list[str]
    min_abstract_hits: int
    position: int
    papers: int


class TopicFields(Input):
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = Field(None, max_length=2000)
    categories: list[str] | None = Field(None, max_length=50)
    strong_categories: list[str] | None = Field(None, max_length=50)
    keywords: list[str] | None = Field(None, max_length=500)
    title_keywords: list[str] | None = Field(None, max_length=500)
    exclude: list[str] | None = Field(None, max_length=500)
    min_abstract_hits: int | None = Field(None, ge=1, le=100)
    position: int | None = Field(None, ge=0, le=10_000)


class TopicCreate(TopicFields):
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)
    name: str = Field(min_length=1, max_length=128)


class SourceOut(BaseModel):
    name: str
    kind: str
    url: str
    poll_interval_minutes: int
    enabled: bool
    health: Health
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    items_last_poll: int | None
    new_last_poll: int | None
    next_poll_at: datetime | None


class SourceUpdate(Input):
    kind: SourceKind | None = None
    url: str | None = Field(None, min_length=1, max_length=2048)
    poll_interval_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)
    enabled: bool | None = None


class SourceCreate(SourceUpdate):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: SourceKind
    url: str = Field(min_length=1, max_length=2048)


class Enqueued(BaseModel):
    task_id: str
    detail: str


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subscriber_id: int
    period: str
    status: str
    claimed_at: datetime
    enqueued_at: datetime | None
    due_at: datetime | None
    attempts: int
    sent_at: datetime | None
    message_id: str | None
    error: str | None
    paper_count: int | None


class DayCount(BaseModel):
    day: date
    sent: int
    failed: int


class TopicChoice(BaseModel):
    slug: str
    subscribers: int


class StatsOut(BaseModel):
    subscribers_by_status: dict[str, int]
    deliveries_by_status: dict[str, int]
    deliveries_per_day: list[DayCount] = Field(description="The last 30 days, UTC, oldest first.")
    papers: int
    sources_by_health: dict[str, int]
    top_topics: list[TopicChoice] = Field(description="Topics chosen by active subscribers, most chosen first.")


class SeedsIn(Input):
    like: list[SafeStr] = Field(default_factory=list, max_length=200, description=(
        "arXiv ids, arXiv or Hugging Face paper URLs, or exact titles."))
    papers: list[int] = Field(default_factory=list, max_length=200, description=(
        "Paper ids, to pick among the papers an ambiguous title named."))


class SeedOut(BaseModel):
    id: int
    kind: Literal["arxiv", "title"]
    ref: str = Field(description="The bare arXiv id, or the title as given.")
    paper_id: int | None = Field(description="The paper, once it is in papermail.")
    title: str | None = Field(description="The paper's title, once it is in papermail.")


class PaperChoiceOut(BaseModel):
    paper_id: int
    arxiv_id: str | None
    title: str


class AmbiguousTitleOut(BaseModel):
    title: str
    choices: list[PaperChoiceOut]


class SeedsAddedOut(BaseModel):
    added: list[str] = Field(description='"arxiv:<id>" or "title:<title>" of each seed added.')
    already: int = Field(description="Given, but seeds already.")
    over_limit: int = Field(description="Not added: the subscriber has the most seeds allowed.")
    ambiguous: list[AmbiguousTitleOut] = Field(description="Titles of several papers, not added: "
                                                           "send one of the choices' paper ids as `papers`.")


class VoteOut(BaseModel):
    paper_id: int
    arxiv_id: str | None
    title: str
    value: Literal[1, -1] = Field(description="+1 more like this, -1 less like this.")
    voted_at: datetime


class LearnedReset(BaseModel):
    votes_deleted: int
    seeds_deleted: int
