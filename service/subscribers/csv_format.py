"""Subscriber CSV, import and export alike (see DESIGN: a header row, one subscriber a row).

Columns: email, topics, keywords, exclude, authors, frequency, timezone, send_hour, status —
all but email optional; a cell with several values separates them with ``;`` (a value holding
``;`` is double-quoted: ``diffusion; "a;b"``). Every row is one line: no value papermail stores
holds a newline, and reading line by line means an unbalanced quote spoils one row, not the rest
of the file. Reading is a generator (``parse_rows``, pure) and writing is one (``export_lines``),
so neither holds the file in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage.models import Subscriber
from service.subscribers.preferences import Preferences, split_terms
from service.subscribers.store import InvalidSubscriber, normalise_email, parse_preferences, preferences_of

COLUMNS = ("email", "topics", "keywords", "exclude", "authors", "frequency", "timezone", "send_hour", "status",
           "weekly_day", "max_papers", "min_upvotes", "empty_digest", "sources")
MULTI_VALUED = ("topics", "keywords", "exclude", "authors", "sources")
# Optional single-valued preference columns, passed to Preferences as they are (it validates them).
PLAIN_PREFERENCES = ("weekly_day", "max_papers", "min_upvotes", "empty_digest")
SINGLE_VALUED = ("frequency", "timezone", "send_hour", *PLAIN_PREFERENCES)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection"):
# export puts a ' before it, and import takes off only a ' that export could have put there.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Statuses a row may ask for; "erased" tombstones are neither exported nor importable.
ROW_STATUSES = ("pending", "active", "paused", "unsubscribed", "suppressed")
MAX_LINE_CHARS = 20_000

IssueKind = Literal["invalid_address", "unknown_topic", "duplicate", "bad_value"]


class CsvFormatError(ValueError):
    """The file as a whole is unusable (no header, no email column, unknown columns)."""


@dataclass(frozen=True, slots=True)
class RowIssue:
    line: int
    email: str
    kind: IssueKind
    message: str

    def text(self) -> str:
        return f"line {self.line}: {self.kind.replace('_', ' ')}: {self.message}"


@dataclass(frozen=True, slots=True)
class GoodRow:
    line: int
    email: str
    prefs: Preferences
    status: str  # as asked by the row ("" when the cell is empty); see import_status
    # The preferences this row states: its file's multi-valued columns (an empty cell clears
    # them) and its non-empty single-valued cells. An update (import --update) changes only these.
    given: frozenset[str] = frozenset()


def import_status(asked: str, confirmed: bool) -> str:
    """The status a new row gets. Opt-outs are kept as they are (importing them stops anyone
    from re-adding the address by mistake); mail-receiving statuses need the admin's --confirmed,
    and without it every such row is pending (it must confirm by mail)."""
    if asked in ("unsubscribed", "suppressed"):
        return asked
    if not confirmed:
        return "pending"
    return asked if asked in ("pending", "paused") else "active"


def parse_header(cells: list[str]) -> list[str]:
    names = [cell.strip().lower().lstrip("\ufeff") for cell in cells]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise CsvFormatError(f"unknown column(s) {', '.join(map(repr, unknown))}; expected {', '.join(COLUMNS)}")
    if "email" not in names:
        raise CsvFormatError("the header row has no 'email' column")
    if len(set(names)) != len(names):
        raise CsvFormatError("the header row names a column twice")
    return names


def _split_line(line: str) -> list[str]:
    return [unneutralised(cell) for cell in next(csv.reader([line]), [])]


def neutralised(cell: str) -> str:
    """CELL safe to open in a spreadsheet: a would-be formula gets a leading '. A cell that is
    already ' + formula character gets one more, so import can always undo exactly what was added."""
    if cell.startswith(FORMULA_STARTS) or (cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS)):
        return "'" + cell
    return cell


def unneutralised(cell: str) -> str:
    """The inverse of ``neutralised``: a ' comes off only where neutralised would have put it
    (a ' before anything else is the reader's own and stays)."""
    if cell.startswith("'") and neutralised(cell[1:]) == cell:
        return cell[1:]
    return cell


def parse_rows(
    lines: Iterable[str], topics: set[str], default_timezone: str = "UTC"
) -> Iterator[GoodRow | RowIssue]:
    """Check each row; the returned iterator yields a GoodRow or a RowIssue per non-blank row,
    in file order (a row repeating an earlier good row's address is a duplicate). The header is
    read at once: CsvFormatError is raised here, before any row is read."""
    numbered = enumerate(lines, start=1)
    for _, line in numbered:
        if line.strip():
            return _rows(numbered, parse_header(_split_line(line)), topics, default_timezone)
    raise CsvFormatError("the file is empty (expected a header row)")


def _rows(
    numbered: Iterator[tuple[int, str]], header: list[str], topics: set[str], default_timezone: str
) -> Iterator[GoodRow | RowIssue]:
    seen: dict[str, int] = {}
    for number, line in numbered:
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            yield RowIssue(number, "", "bad_value", f"line longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            cells = _split_line(line)
        except csv.Error as exc:
            yield RowIssue(number, "", "bad_value", f"unreadable row ({exc})")
            continue
        row = check_row(number, header, cells, topics, default_timezone, seen)
        if isinstance(row, GoodRow):
            seen[row.email] = number
        yield row


def check_row(
    number: int, header: list[str], cells: list[str], topics: set[str], default_timezone: str,
    seen: dict[str, int],
) -> GoodRow | RowIssue:
    """One row against the taxonomy and the rows before it (pure)."""
    values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
    raw_email = values.get("email", "")
    if len(cells) > len(header):
        return RowIssue(number, raw_email, "bad_value", f"{len(cells)} cells but the header has {len(header)} columns")
    if "\ufffd" in "".join(cells):
        return RowIssue(number, raw_email, "bad_value", "the row is not valid UTF-8")
    try:
        email = normalise_email(raw_email)
    except InvalidSubscriber as exc:  # the one address rule's own words (service.subscribers.addresses)
        return RowIssue(number, raw_email, "invalid_address", str(exc).removeprefix("email: "))
    if email in seen:
        return RowIssue(number, email, "duplicate", f"{email} is also on line {seen[email]}")
    data: dict[str, Any] = {name: split_terms([values.get(name, "")]) for name in MULTI_VALUED}
    unknown = [slug for slug in data["topics"] if slug not in topics]
    if unknown:
        return RowIssue(number, email, "unknown_topic", f"unknown topic(s) {', '.join(map(repr, unknown))}")
    status = values.get("status", "").lower()
    if status and status not in ROW_STATUSES:
        return RowIssue(number, email, "bad_value", f"status: {status!r} is not one of {', '.join(ROW_STATUSES)}")
    if values.get("send_hour"):
        try:
            data["send_hour"] = int(values["send_hour"])
        except ValueError:
            return RowIssue(number, email, "bad_value", f"send_hour: {values['send_hour']!r} is not a whole hour 0-23")
    if values.get("frequency"):
        data["frequency"] = values["frequency"].lower()
    data.update({name: values[name].lower() for name in PLAIN_PREFERENCES if values.get(name)})
    data["timezone"] = values.get("timezone") or default_timezone
    try:
        prefs = parse_preferences(data, topics)
    except InvalidSubscriber as exc:
        return RowIssue(number, email, "bad_value", str(exc))
    given = {name for name in MULTI_VALUED if name in header}
    given |= {name for name in SINGLE_VALUED if values.get(name)}
    return GoodRow(number, email, prefs, status, frozenset(given))


def join_values(values: Iterable[str]) -> str:
    """Cell text for several values; one holding ';' is quoted (CSV-style) so split_terms reads it back."""
    return "; ".join('"' + v.replace('"', '""') + '"' if ";" in v else v for v in values)


def csv_line(cells: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(neutralised(str(cell)) for cell in cells)
    return buffer.getvalue()


def subscriber_cells(subscriber: Subscriber) -> list[object]:
    prefs = preferences_of(subscriber)
    return [
        subscriber.email, join_values(prefs.topics), join_values(prefs.keywords), join_values(prefs.exclude),
        join_values(prefs.authors), subscriber.frequency, subscriber.timezone, subscriber.send_hour,
        subscriber.status, prefs.weekly_day, prefs.max_papers, prefs.min_upvotes, prefs.empty_digest,
        join_values(prefs.sources),
    ]


def export_lines(session: Session, chunk: int = 1000) -> Iterator[str]:
    """The header, then one line per subscriber by id; keyset pages keep memory flat."""
    yield csv_line(COLUMNS)
    last_id = 0
    while True:
        page = session.scalars(
            select(Subscriber).where(Subscriber.id > last_id, Subscriber.status != "erased")
            .order_by(Subscriber.id).limit(chunk)
        ).all()
        if not page:
            return
        for subscriber in page:
            yield csv_line(subscriber_cells(subscriber))
        last_id = page[-1].id
        session.expunge_all()  # keep the identity map from growing with the export
