"""The admin dashboard: the numbers (a few GROUP BY queries) and the charts, drawn as SVG by
pure functions. Every label is escaped: topic names and keywords are typed by people.

Subscribers over time come from the three dates a row keeps (created, confirmed,
unsubscribed): on each day, *pending* signed up but had not confirmed, *confirmed* had and
had not left, *unsubscribed* had left by then. Pauses and suppressions have no date of their
own, so they count as confirmed here; the status totals beside the chart are exact.

Failures are grouped by what kind of failure they are (``failure_class``: the SMTP reply code
and stage, a lost connection, ...), never by their raw text, which names the address: one row
per cause, however many readers it hit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.admin.bounce_log import counts_since
from service.ingest.health import source_health
from service.storage.models import Delivery, Paper, Source, Subscriber

DAYS = 30
PALETTE = {"confirmed": "#3730a3", "pending": "#0e7490", "unsubscribed": "#b42318", "sent": "#3730a3",
           "failed": "#b42318", "skipped": "#9ca3af", "bar": "#6366f1"}
# "SMTP server refused RCPT TO for a@b: 550 5.1.1 ...", as service.mail.smtp.refusal words it.
SMTP_REFUSAL = re.compile(r"SMTP server refused (?P<stage>[A-Z ]+?) for .*?: (?P<code>\d{3})"
                          r"(?: (?P<status>[245]\.\d{1,3}\.\d{1,3}))?")
ADDRESS = re.compile(r"<?[^\s<>@'\"]+@[^\s<>'\"]+>?")
CONNECTION_ERRORS = ("ConnectionRefusedError", "ConnectionResetError", "TimeoutError", "SMTPServerDisconnected",
                     "SMTPConnectError", "OSError", "socket.gaierror", "gaierror", "ConnectionError")


@dataclass
class DashboardNumbers:
    days: list[date]
    by_status: dict[str, int]
    status_series: dict[str, list[int]]
    sent_per_day: list[int]
    failed_per_day: list[int]
    failure_reasons: list[tuple[str, int]]
    topics: list[tuple[str, int]]
    keywords: list[tuple[str, int]]
    deliveries_by_status: dict[str, int] = field(default_factory=dict)
    skipped_per_day: list[int] = field(default_factory=list)
    bounces: dict[str, int] = field(default_factory=dict)  # per kind, last DAYS days
    papers: int = 0
    papers_recent: int = 0  # announced in the last DAYS days
    sources_by_health: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Nothing to chart yet: a fresh install."""
        return not self.by_status and not self.deliveries_by_status


def failure_class(error: str | None) -> str:
    """Pure: what kind of failure ERROR is, in words, without the address it may name."""
    if not error:
        return "no reason recorded"
    refused = SMTP_REFUSAL.search(error)
    if refused:
        code, status = refused.group("code"), refused.group("status")
        kind = "permanent" if code.startswith("5") else "temporary"
        return f"SMTP {code}{' ' + status if status else ''} at {refused.group('stage')} ({kind})"
    head, colon, rest = error.partition(":")
    if head.strip() in CONNECTION_ERRORS:
        return f"the mail relay could not be reached ({head.strip()})"
    if "cannot write to outbox" in error:
        return "the outbox folder cannot be written to"
    words = " ".join(ADDRESS.sub("<address>", rest if colon else error).split())
    words = re.sub(r"\d{4,}", "#", words)  # ids and timestamps differ from one failure to the next
    label = f"{head.strip()}: {words}" if colon and head.strip().isidentifier() else words
    return label if len(label) <= 100 else label[:99] + "…"


def utc_day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def day_counts(session: Session, column: Any, *where: Any) -> dict[date, int]:
    """Rows per UTC day of COLUMN (non-null), whole history: the series need the totals before."""
    day = utc_day(session, column)
    rows = session.execute(select(day, func.count()).where(column.is_not(None), *where).group_by(day))
    return {d if isinstance(d, date) else date.fromisoformat(str(d)): n for d, n in rows}


def cumulative(per_day: Mapping[date, int], days: Sequence[date]) -> list[int]:
    """Running total at the end of each of DAYS (pure)."""
    total = sum(n for d, n in per_day.items() if d < days[0])
    out = []
    for day in days:
        total += per_day.get(day, 0)
        out.append(total)
    return out


def status_series(created: Mapping[date, int], confirmed: Mapping[date, int], left_confirmed: Mapping[date, int],
                  left_pending: Mapping[date, int], days: Sequence[date]) -> dict[str, list[int]]:
    c, k = cumulative(created, days), cumulative(confirmed, days)
    lc, lp = cumulative(left_confirmed, days), cumulative(left_pending, days)
    return {"confirmed": [k[i] - lc[i] for i in range(len(days))],
            "pending": [c[i] - k[i] - lp[i] for i in range(len(days))],
            "unsubscribed": [lc[i] + lp[i] for i in range(len(days))]}


def preference_counts(session: Session, limit: int = 10) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Most chosen topics and keywords among active subscribers (JSON is read in Python: its
    SQL differs per database), streamed in chunks."""
    topics: Counter[str] = Counter()
    keywords: Counter[str] = Counter()
    query = select(Subscriber.preferences).where(Subscriber.status == "active").execution_options(yield_per=2000)
    for prefs in session.scalars(query):
        prefs = prefs or {}
        topics.update(t for t in prefs.get("topics", ()) if isinstance(t, str))
        keywords.update(k.casefold() for k in prefs.get("keywords", ()) if isinstance(k, str))
    return topics.most_common(limit), keywords.most_common(limit)


def failure_classes(session: Session, since: datetime, limit: int = 8) -> list[tuple[str, int]]:
    """Failed digests since SINCE per failure_class, most first (the texts are read in Python:
    the classes come from a regular expression)."""
    moment = func.coalesce(Delivery.sent_at, Delivery.claimed_at)
    query = (select(Delivery.error).where(Delivery.status == "failed", moment >= since)
             .execution_options(yield_per=5000))
    return Counter(failure_class(error) for error in session.scalars(query)).most_common(limit)


def dashboard_numbers(session: Session, today: date, days: int = DAYS,
                      stale_after: timedelta = timedelta(hours=48)) -> DashboardNumbers:
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    unsub = Subscriber.unsubscribed_at
    series = status_series(
        day_counts(session, Subscriber.created_at), day_counts(session, Subscriber.confirmed_at),
        day_counts(session, unsub, Subscriber.confirmed_at.is_not(None)),
        day_counts(session, unsub, Subscriber.confirmed_at.is_(None)), span)
    start = datetime(span[0].year, span[0].month, span[0].day, tzinfo=UTC)
    moment = func.coalesce(Delivery.sent_at, Delivery.claimed_at)
    day = utc_day(session, moment)
    per: dict[tuple[str, str], int] = {
        (str(d), s): n for d, s, n in session.execute(
            select(day, Delivery.status, func.count()).where(moment >= start, Delivery.status.in_(("sent", "failed")))
            .group_by(day, Delivery.status))}
    per_skipped = day_counts(session, Delivery.claimed_at, Delivery.status == "skipped", Delivery.claimed_at >= start)
    topics, keywords = preference_counts(session)
    now = datetime.now(UTC)
    health: Counter[str] = Counter(source_health(source, now, stale_after) for source in session.scalars(select(Source)))
    return DashboardNumbers(
        days=span,
        by_status=dict(session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)).all()),
        status_series=series,
        sent_per_day=[per.get((str(d), "sent"), 0) for d in span],
        failed_per_day=[per.get((str(d), "failed"), 0) for d in span],
        failure_reasons=failure_classes(session, start),
        topics=topics, keywords=keywords,
        deliveries_by_status=dict(session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)).all()),
        skipped_per_day=[per_skipped.get(d, 0) for d in span],
        bounces=counts_since(session, start),
        papers=session.scalar(select(func.count(Paper.id))) or 0,
        papers_recent=session.scalar(select(func.count(Paper.id)).where(Paper.announced_on >= span[0])) or 0,
        sources_by_health=dict(health),
    )


# -- SVG (pure) -----------------------------------------------------------------------------

def nice_max(value: int) -> int:
    """A round axis top at or above VALUE: 1, 2, 5, 10, 20, 50, ..."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def _svg(width: int, height: int, title: str, body: Iterable[str]) -> str:
    label = escape(title)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{label}" class="chart" font-family="system-ui, sans-serif" font-size="12">'
            f"<title>{label}</title>{''.join(body)}</svg>")


def axis_top(value: int) -> int:
    """An axis top with four equal whole-number steps at or above VALUE: 4, 8, 20, 40, 200, ..."""
    return 4 * nice_max(-(-max(value, 1) // 4))


def _axes(top: int, days: Sequence[date], left: int, plot_w: int, plot_h: int, pad_top: int) -> list[str]:
    parts = []
    for i in range(5):
        value = top * i // 4
        y = pad_top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">{value:,}</text>')
    step = max(1, len(days) // 6)
    for i in range(0, len(days), step):
        x = left + plot_w * (i + 0.5) / len(days)
        parts.append(f'<text x="{x:.1f}" y="{pad_top + plot_h + 16}" text-anchor="middle" fill="#4b5563">'
                     f"{days[i]:%b} {days[i].day}</text>")
    return parts


def _legend(names: Sequence[str], x: int, y: int) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        left = x + i * 120
        parts.append(f'<rect x="{left}" y="{y - 9}" width="10" height="10" rx="2" fill="{PALETTE.get(name, "#6366f1")}"/>')
        parts.append(f'<text x="{left + 15}" y="{y}" fill="#111827">{escape(name.capitalize())}</text>')
    return parts


def _nothing_yet(x: float, y: float, text: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="#6b7280" font-size="14">{escape(text)}</text>'


def line_chart(title: str, days: Sequence[date], series: Mapping[str, Sequence[int]],
               width: int = 640, height: int = 240) -> str:
    left, pad_top, plot_w, plot_h = 56, 28, width - 72, height - 60
    highest = max((max(v, default=0) for v in series.values()), default=0)
    top = axis_top(highest)
    parts = _legend(list(series), left, 14) + _axes(top, days, left, plot_w, plot_h, pad_top)
    if highest == 0:
        parts.append(_nothing_yet(left + plot_w / 2, pad_top + plot_h / 2, "No subscribers yet"))
    for name, values in series.items():
        points = " ".join(f"{left + plot_w * (i + 0.5) / len(days):.1f},{pad_top + plot_h - plot_h * v / top:.1f}"
                          for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke-width="2.5" '
                     f'stroke="{PALETTE.get(name, "#6366f1")}"><title>{escape(name)}: {values[-1]:,} now</title></polyline>')
    return _svg(width, height, title, parts)


def stacked_bars(title: str, days: Sequence[date], series: Mapping[str, Sequence[int]],
                 width: int = 640, height: int = 240) -> str:
    left, pad_top, plot_w, plot_h = 56, 28, width - 72, height - 60
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    top = axis_top(max(totals, default=0))
    parts = _legend(list(series), left, 14) + _axes(top, days, left, plot_w, plot_h, pad_top)
    if max(totals, default=0) == 0:
        parts.append(_nothing_yet(left + plot_w / 2, pad_top + plot_h / 2, "Nothing in these days"))
    slot = plot_w / max(1, len(days))
    for i, day in enumerate(days):
        base = float(pad_top + plot_h)
        for name, values in series.items():
            h = plot_h * values[i] / top
            if h <= 0:
                continue
            base -= h
            parts.append(f'<rect x="{left + slot * i + slot * 0.15:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE.get(name, "#6366f1")}">'
                         f"<title>{day.isoformat()} {escape(name)}: {values[i]:,}</title></rect>")
    return _svg(width, height, title, parts)


def bar_list(title: str, items: Sequence[tuple[str, int]], width: int = 420) -> str:
    """Horizontal bars, one labelled row per item (the most chosen topics or keywords)."""
    row, label_w = 26, 150
    height = max(1, len(items)) * row + 8
    top = max((n for _, n in items), default=0) or 1
    parts = []
    if not items:
        parts.append(f'<text x="0" y="18" fill="#4b5563">{escape("Nothing chosen yet")}</text>')
    for i, (label, n) in enumerate(items):
        y = 4 + i * row
        shown = label if len(label) <= 22 else label[:21] + "…"
        w = (width - label_w - 60) * n / top
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="#111827">{escape(shown)}'
                     f"<title>{escape(label)}</title></text>")
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 2):.1f}" height="16" rx="3" fill="{PALETTE["bar"]}"/>')
        parts.append(f'<text x="{label_w + max(w, 2) + 6:.1f}" y="{y + 16}" fill="#4b5563">{n:,}</text>')
    return _svg(width, height, title, parts)
