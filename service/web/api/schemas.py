"""Request and response models of /api/v1 (what /docs shows)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import JsonDict

from service.subscribers.preferences import Preferences, Weekday

T = TypeVar("T")
SubscriberStatus = Literal["pending", "active", "paused", "unsubscribed", "suppressed", "erased"]
SettableStatus = Literal["pending", "active", "paused", "unsubscribed", "suppressed"]
SourceKind = Literal["hf_daily", "arxiv_rss", "arxiv_api", "feed"]
DeliveryStatus = Literal["claimed", "sending", "sent", "failed", "skipped"]
Health = Literal["never", "ok", "empty", "stale", "broken"]
Role = Literal["owner", "viewer"]
BounceKind = Literal["hard", "soft", "complaint"]
BounceSource = Literal["smtp", "webhook", "inbound"]


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
# Declared formats: what /docs and generated clients show. The service checks the values itself
# (service.subscribers.store.normalise_email, service.actions.sources.check_source) and words
# its refusals; pydantic's EmailStr/HttpUrl would answer in their own words first.
EMAIL: JsonDict = {"format": "email"}
URI: JsonDict = {"format": "uri"}
EmailText = Annotated[str, Field(json_schema_extra=EMAIL)]
UriText = Annotated[str, Field(json_schema_extra=URI)]


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
    email: str = Field(json_schema_extra=EMAIL)
    status: SubscriberStatus
    preferences: Preferences
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    last_digest_at: datetime | None
    suppressed_reason: str | None
    soft_bounces: int
    pending_email: EmailText | None = Field(description="A new address waiting for its confirmation.")


class SubscriberCreate(Input):
    email: str = Field(min_length=3, max_length=320, json_schema_extra=EMAIL)
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
    email: EmailText | None = Field(None, min_length=3, max_length=320)
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
    subscribers: int = Field(description="Subscribers (not erased) who follow this topic.")


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


class TopicUpdate(TopicFields):
    slug: str | None = Field(None, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64,
                             description="A new slug: renames the topic, and its subscribers follow it.")


class SourceOut(BaseModel):
    name: str
    kind: SourceKind
    url: str = Field(json_schema_extra=URI)
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
    url: UriText | None = Field(None, min_length=1, max_length=2048)
    poll_interval_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)
    enabled: bool | None = None


class SourceCreate(SourceUpdate):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: SourceKind
    url: str = Field(min_length=1, max_length=2048, json_schema_extra=URI)


class Enqueued(BaseModel):
    task_id: str
    detail: str


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subscriber_id: int
    period: str
    status: DeliveryStatus
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


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str = Field(description='An admin\'s address, "api:<token name>", "cli", "system", "webhook:<format>", '
                                   '"inbound:<channel>" or "subscriber:<id>".')
    action: str = Field(description='What happened, e.g. "subscriber.update", "topic.delete".')
    target_type: str = Field(description='What it happened to, e.g. "subscriber", "topic", "source".')
    target_id: str | None
    before: dict[str, Any] | None = Field(description="The fields that changed, as they were (null for an event).")
    after: dict[str, Any] | None = Field(description="The same fields afterwards (null for an event; for a deletion, "
                                                     "null or what became of what depended on it).")


class BounceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: BounceKind
    address: str = Field(description='As reported; "[erased]" once its subscriber was erased.')
    subscriber_id: int | None
    delivery_id: int | None
    source: BounceSource = Field(description="smtp: refused during a digest's SMTP session; webhook: a provider's "
                                             "notification; inbound: a bounce or complaint mailed back.")
    detail: str = Field(description="The webhook's format or the inbound channel.")
    diagnostic: str = Field(description="The raw reply or reason, as received.")
    outcome: str


# -- papers (/api/v1/papers) ----------------------------------------------------------------


class PaperLinksOut(BaseModel):
    page: str = Field(description="The paper's page on this site.")
    hugging_face: str | None
    arxiv: str | None
    pdf: str | None
    code: str | None
    project: str | None


class PaperOut(BaseModel):
    id: int
    slug: str = Field(description="Its address under /papers/: the bare arXiv id, else p-<id>.")
    arxiv_id: str | None = Field(description="Bare, without version.")
    uid: str = Field(description='"arxiv:<id>", or "<source kind>:<guid>" for a paper without one.')
    title: str
    authors: list[str]
    organization: str | None
    day: date = Field(description="The day its source announced it (UTC); else its publication day, else the day "
                                  "papermail first saw it.")
    published_at: datetime | None
    upvotes: int
    comments: int | None
    abstract: str
    ai_summary: str | None
    ai_keywords: list[str]
    thumbnail: str | None
    topics: list[str] = Field(description="Topic slugs, in taxonomy order.")
    sources: list[str] = Field(description="Names of the sources that reported it.")
    links: PaperLinksOut
