"""/api/v1/stats: the counts behind the dashboard."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.storage.db import session_scope
from service.ingest.health import source_health
from service.storage.models import Delivery, Paper, Source, Subscriber
from service.web.api.auth import ApiRoute, app_settings
from service.web.api.schemas import DayCount, StatsOut, TopicChoice

router = APIRouter(prefix="/stats", tags=["stats"], route_class=ApiRoute)
DAYS = 30


def utc_day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, in the dialect at hand."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def per_day(session: Session, today: date) -> list[DayCount]:
    first = today - timedelta(days=DAYS - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    moment = func.coalesce(Delivery.sent_at, Delivery.claimed_at)
    day = utc_day(session, moment)
    query = (select(day, Delivery.status, func.count()).where(moment >= start,
             Delivery.status.in_(("sent", "failed"))).group_by(day, Delivery.status))
    counts: dict[tuple[str, str], int] = {(str(d), s): n for d, s, n in session.execute(query)}
    days = [first + timedelta(days=i) for i in range(DAYS)]
    return [DayCount(day=d, sent=counts.get((str(d), "sent"), 0), failed=counts.get((str(d), "failed"), 0))
            for d in days]


def top_topics(session: Session, limit: int = 10) -> list[TopicChoice]:
    """Topics in active subscribers' preferences; JSON differs per dialect, so counted here,
    streaming one column in chunks."""
    counts: Counter[str] = Counter()
    query = select(Subscriber.preferences).where(Subscriber.status == "active").execution_options(yield_per=2000)
    for preferences in session.scalars(query):
        counts.update(t for t in (preferences or {}).get("topics", ()) if isinstance(t, str))
    return [TopicChoice(slug=slug, subscribers=n) for slug, n in counts.most_common(limit)]


@router.get("", response_model=StatsOut, summary="Subscribers, deliveries, papers and sources in numbers")
def stats(settings: Annotated[Settings, Depends(app_settings)]) -> StatsOut:
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        subscribers = {s: n for s, n in session.execute(
            select(Subscriber.status, func.count()).group_by(Subscriber.status))}
        deliveries = {s: n for s, n in session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status))}
        stale = timedelta(hours=settings.source_stale_hours)
        health = Counter(source_health(s, now, stale) for s in session.scalars(select(Source)))
        return StatsOut(
            subscribers_by_status=subscribers, deliveries_by_status=deliveries,
            deliveries_per_day=per_day(session, now.date()),
            papers=session.scalar(select(func.count(Paper.id))) or 0, sources_by_health=dict(health),
            top_topics=top_topics(session),
        )
