"""From what a reader pastes or uploads to seed references for "more like these papers" (pure).

A reference is a bare arXiv id ("2406.01234", "hep-th/9901001"; no version) or an exact title.
Pasted text holds one entry a line: an id, ``arXiv:<id>``, an arXiv or Hugging Face paper URL,
a DOI 10.48550/arXiv.<id>, or a title (several ids or URLs may share a line). Files are BibTeX,
RIS or Zotero's CSV export, read with bibtexparser, rispy and csv; a record gives its arXiv id
(eprint, DOI, URL, notes) or else its title. What cannot be read is reported by line, the rest
is kept; past ``cap`` references the rest are dropped and counted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import bibtexparser
import rispy
from bibtexparser.model import DuplicateBlockKeyBlock, Entry

SeedKind = Literal["arxiv", "title"]
Format = Literal["text", "bibtex", "ris", "csv"]

MAX_REFS = 200  # per submission: a reader's favourite papers, not their whole library
MIN_TITLE_CHARS = 10
MAX_TITLE_CHARS = 1000  # seeds.ref holds 1024
SHOWN_CHARS = 120  # of a bad entry, in its error line

_NEW_ID = r"(?P<yymm>\d{4})\.(?P<num>\d{4,5})"
_OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Za-z]{2})?/\d{7}"
_ID = rf"(?:{_NEW_ID}|{_OLD_ID})"
BARE_ID = re.compile(rf"(?i)^(?:arxiv\s*:\s*)?(?P<id>{_ID})(?:v\d+)?$")
DOI_ID = re.compile(rf"(?i)^(?:https?://(?:dx\.)?doi\.org/|doi\s*:\s*)?10\.48550/arxiv\.(?P<id>{_ID})(?:v\d+)?$")
# Inside free text (a note, a journal field, Zotero's Extra): only ids that say they are arXiv's.
MENTIONED_ID = re.compile(
    rf"(?i)(?:arxiv\s*[:.]?\s*|arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/|10\.48550/arxiv\.)"
    rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v\d+)?"
)
_ARXIV_PATH = re.compile(rf"(?i)^/(?:abs|pdf|html)/(?P<id>{_ID})(?:v\d+)?(?:\.pdf)?/?$")
_HF_PATH = re.compile(rf"(?i)^/papers/(?P<id>{_ID})(?:v\d+)?/?$")
_HF_HOSTS = ("huggingface.co", "www.huggingface.co", "hf.co")
_SEPARATORS = re.compile(r"[\s,;]+")
_LOOKS_LINKED = re.compile(r"(?i)^(?:https?://|www\.)|\b(?:arxiv\.org|huggingface\.co|hf\.co|doi\.org)/")
# Record fields never searched for an id: an abstract (or a title) may cite other papers' ids.
_ABSTRACT_FIELDS = frozenset({"abstract", "abstract note", "ab", "n2"})
_TITLE_FIELDS = ("title", "primary_title", "ti", "t1")


@dataclass(frozen=True)
class SeedRef:
    kind: SeedKind
    ref: str

    @property
    def key(self) -> tuple[str, str]:
        """Titles are matched case-insensitively: "Foo" and "foo" are one seed."""
        return (self.kind, self.ref.casefold() if self.kind == "title" else self.ref.lower())


@dataclass(frozen=True)
class RefProblem:
    line: int  # 1-based line of the text or file
    text: str  # the entry as given, shortened
    message: str

    def describe(self) -> str:
        return f"line {self.line}: {self.message}" + (f" ({self.text})" if self.text else "")


@dataclass
class ParsedRefs:
    format: Format
    refs: list[SeedRef] = field(default_factory=list)
    problems: list[RefProblem] = field(default_factory=list)
    dropped: int = 0  # references past the cap, not kept
    cap: int = MAX_REFS

    @property
    def cap_message(self) -> str | None:
        if not self.dropped:
            return None
        return (f"Only the first {self.cap:,} of {self.cap + self.dropped:,} papers were kept: "
                f"name your favourite papers rather than a whole library.")


class BadRef(ValueError):
    """One reference that is neither an arXiv id, an arXiv/Hugging Face URL, nor a title
    (INDEX: its position in a list given by ``parse_each``)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bare_id(found: re.Match[str]) -> str | None:
    """The bare id of a match of one of the patterns above; None when its month or number
    cannot exist (new-style ids began in April 2007: 4 digits until 2014, 5 from 2015)."""
    yymm, num = found.group("yymm"), found.group("num")
    if yymm is None:  # old style: the archive's subject class is not part of the id
        archive, _, number = found.group("id").partition("/")
        return f"{archive.split('.')[0].lower()}/{number}"
    month, year_month = int(yymm[2:]), int(yymm)
    if not 1 <= month <= 12 or year_month < 704 or len(num) != (4 if year_month < 1501 else 5):
        return None
    return f"{yymm}.{num}"


def arxiv_id_of(text: str) -> str | None:
    """The bare arXiv id TEXT is (an id, arXiv:id, a DOI or an arXiv/HF paper URL), else None."""
    value = text.strip().strip("<>\"'").strip()
    for pattern in (BARE_ID, DOI_ID):
        found = pattern.match(value)
        if found:
            return bare_id(found)
    if _LOOKS_LINKED.search(value):
        url = urlsplit(value if "://" in value else f"https://{value}")
        host, path = (url.hostname or "").lower(), unquote(url.path)
        if host == "arxiv.org" or host.endswith(".arxiv.org"):
            found = _ARXIV_PATH.match(path)
        elif host in _HF_HOSTS:
            found = _HF_PATH.match(path)
        elif host.endswith("doi.org"):
            found = DOI_ID.match(path.lstrip("/"))
        else:
            found = None
        if found:
            return bare_id(found)
    return None


def mentioned_id(text: str) -> str | None:
    """An arXiv id named inside free text ("arXiv preprint arXiv:2406.01234"), else None."""
    for found in MENTIONED_ID.finditer(text):
        bare = bare_id(found)
        if bare:
            return bare
    return None


def clean_title(text: str) -> str:
    """A title as typed or exported: BibTeX braces and escapes dropped, whitespace collapsed."""
    text = re.sub(r"\\([&%$#_{}])", r"\1", text).replace("{", "").replace("}", "")
    return " ".join(text.split())


def title_ref(text: str) -> SeedRef:
    title = clean_title(text)
    if _LOOKS_LINKED.search(title):
        raise BadRef("not an arXiv or Hugging Face paper link")
    if re.fullmatch(r"[\d.v/]+", title) or re.match(r"(?i)arxiv\s*:", title):
        raise BadRef("not a valid arXiv id (like 2406.01234)")
    if len(title) < MIN_TITLE_CHARS or not re.search(r"[^\W\d_]", title):
        raise BadRef("too short to be a paper's title: give its arXiv id or its full title")
    if len(title) > MAX_TITLE_CHARS:
        raise BadRef(f"longer than {MAX_TITLE_CHARS} characters: not a title")
    return SeedRef("title", title)


def parse_one(text: str) -> SeedRef:
    """One reference (the CLI's --like, the API's ``like``); raises BadRef."""
    if "\x00" in text:
        raise BadRef("contains a NUL character")
    bare = arxiv_id_of(text)
    return SeedRef("arxiv", bare) if bare else title_ref(text)


def parse_each(values: Iterable[str], cap: int = MAX_REFS) -> list[SeedRef]:
    """References given one by one (the CLI's --like, the API's ``like``): each must be good, as
    its sender can fix it; raises BadRef naming the first bad one. Repeats are dropped."""
    refs: dict[tuple[str, str], SeedRef] = {}
    for index, value in enumerate(values):
        try:
            ref = parse_one(value)
        except BadRef as exc:
            raise BadRef(f"{shorten(value, 80)!r} is {exc}" if str(exc).startswith("not ") else
                         f"{shorten(value, 80)!r}: {exc}", index) from None
        refs.setdefault(ref.key, ref)
    if len(refs) > cap:
        raise BadRef(f"{len(refs):,} papers given; at most {cap} at a time")
    return list(refs.values())


class _Collector:
    """Keeps references in order, once each, up to the cap; counts the rest."""

    def __init__(self, fmt: Format, cap: int) -> None:
        self.result = ParsedRefs(fmt, cap=cap)
        self._seen: set[tuple[str, str]] = set()

    def add(self, ref: SeedRef) -> None:
        if ref.key in self._seen:
            return
        self._seen.add(ref.key)
        if len(self.result.refs) < self.result.cap:
            self.result.refs.append(ref)
        else:
            self.result.dropped += 1

    def problem(self, line: int, text: str, message: str) -> None:
        self.result.problems.append(RefProblem(line, shorten(text), message))


def parse_pasted(text: str, cap: int = MAX_REFS) -> ParsedRefs:
    """One entry a line; blank lines and lines starting with # are skipped."""
    out = _Collector("text", cap)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = [t for t in _SEPARATORS.split(line) if t]
        ids = [bare for bare in map(arxiv_id_of, tokens) if bare]
        if len(tokens) > 1 and len(ids) == len(tokens):
            for bare in ids:
                out.add(SeedRef("arxiv", bare))
            continue
        try:
            out.add(parse_one(line))
        except BadRef as exc:
            out.problem(number, line, str(exc))
    return out.result


def record_ref(fields: Mapping[str, Any]) -> SeedRef | None:
    """A bibliographic record's reference: its arXiv id from the id-bearing fields (eprint,
    DOI, URLs, then any other field that names one), else its title; None if it has neither."""
    lowered = {str(k).lower(): v for k, v in fields.items()}
    values = {k: _strings(v) for k, v in lowered.items() if k not in _ABSTRACT_FIELDS}
    for name in ("eprint", "doi", "url", "urls", "ur", "do"):
        for value in values.get(name, []):
            bare = arxiv_id_of(value) or mentioned_id(value)
            if bare:
                return SeedRef("arxiv", bare)
    for name, texts in values.items():
        if name in _TITLE_FIELDS:
            continue
        for value in texts:
            bare = mentioned_id(value)
            if bare:
                return SeedRef("arxiv", bare)
    for name in _TITLE_FIELDS:
        for value in values.get(name, []):
            if value.strip():
                return title_ref(value)
    return None


def _strings(value: Any) -> list[str]:
    """Every text inside VALUE (rispy gives lists, and a dict of lists for unknown tags)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, Iterable):
        return [text for item in value for text in _strings(item)]
    return []


def _add_record(out: _Collector, line: int, label: str, fields: Mapping[str, Any]) -> None:
    try:
        ref = record_ref(fields)
    except BadRef as exc:
        out.problem(line, label, f"its title is unusable: {exc}")
        return
    if ref is None:
        out.problem(line, label, "has neither an arXiv id nor a title")
    else:
        out.add(ref)


def parse_bibtex(text: str, cap: int = MAX_REFS) -> ParsedRefs:
    out = _Collector("bibtex", cap)
    library = bibtexparser.parse_string(text)
    blocks: list[tuple[int, Entry]] = [(e.start_line or 0, e) for e in library.entries]
    for block in library.failed_blocks:
        if isinstance(block, DuplicateBlockKeyBlock) and isinstance(block.ignore_error_block, Entry):
            # A reused key is no reason to lose the entry (its values come unparsed: {…} and all).
            blocks.append((block.start_line or 0, block.ignore_error_block))
        else:
            first = block.raw.splitlines()[0] if block.raw else ""
            out.problem((block.start_line or 0) + 1, first, "is not valid BibTeX")
    for start, entry in sorted(blocks, key=lambda pair: pair[0]):
        fields = {f.key: _unbraced(f.value) for f in entry.fields if isinstance(f.value, str)}
        _add_record(out, start + 1, f"@{entry.entry_type}{{{entry.key}", fields)
    if not blocks and not out.result.problems:
        out.problem(1, "", "no BibTeX entries found")
    return out.result


def _unbraced(value: str) -> str:
    value = value.strip()
    return value[1:-1] if len(value) > 1 and (value[0], value[-1]) in (("{", "}"), ('"', '"')) else value


_RIS_TAG = re.compile(r"^(?P<tag>[A-Z][A-Z0-9])  -(?: (?P<value>.*))?$")


def _ris_records(lines: list[str], out: _Collector) -> Iterator[tuple[int, list[str]]]:
    """(first line number, lines) of each TY … ER record; stray lines are reported."""
    start, record = 0, list[str]()
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        tag = _RIS_TAG.match(line)
        if tag and tag["tag"] == "TY":
            if record:
                out.problem(start, record[0], "record has no ER line; read up to the next TY")
                yield start, [*record, "ER  - "]
            start, record = number, [line]
        elif record:
            record.append(line)
            if tag and tag["tag"] == "ER":
                yield start, record
                start, record = 0, []
        elif line.strip():
            out.problem(number, line, "is outside any RIS record (TY … ER)")
    if record:
        out.problem(start, record[0], "record has no ER line (the file may be cut short)")
        yield start, [*record, "ER  - "]


def parse_ris(text: str, cap: int = MAX_REFS) -> ParsedRefs:
    out = _Collector("ris", cap)
    found = False
    for start, record in _ris_records(text.lstrip("\ufeff").splitlines(), out):
        found = True
        try:
            [entry] = rispy.loads("\n".join(record) + "\n")
        except Exception as exc:  # rispy raises bare IOError/ValueError/KeyError subclasses
            out.problem(start, record[0], f"is not a valid RIS record ({type(exc).__name__})")
            continue
        _add_record(out, start, record[0], entry)
    if not found and not out.result.problems:
        out.problem(1, "", "no RIS records found")
    return out.result


def parse_zotero_csv(text: str, cap: int = MAX_REFS) -> ParsedRefs:
    """Zotero's "Export Library… → CSV": a header row (Key, Item Type, …, Title, …, DOI, Url, Extra)."""
    out = _Collector("csv", cap)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        out.problem(1, "", "empty or unreadable CSV")
        return out.result
    if not {"title", "url", "doi"} & {h.lower() for h in header}:
        out.problem(1, ",".join(header), "no Title, Url or DOI column: not a Zotero CSV export")
        return out.result
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.problem(line, "", f"unreadable CSV row: {exc}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        _add_record(out, line, ",".join(row), dict(zip(header, row, strict=False)))
    return out.result


_SUFFIXES: tuple[tuple[str, Format], ...] = (
    (".bib", "bibtex"), (".bibtex", "bibtex"), (".ris", "ris"), (".csv", "csv"),
)


def detect_format(filename: str, text: str) -> Format:
    name = filename.lower()
    for suffix, fmt in _SUFFIXES:
        if name.endswith(suffix):
            return fmt
    if re.search(r"(?m)^\s*@[A-Za-z]+\s*[{(]", text):
        return "bibtex"
    if re.search(r"(?m)^TY  -", text):
        return "ris"
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    if "," in first and re.search(r'(?i)(^|,)"?title"?(,|$)', first):
        return "csv"
    return "text"


def decode(data: bytes) -> str:
    """Exports are UTF-8 (often with a BOM); anything else is read as Latin-1 rather than refused."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


PARSERS = {"text": parse_pasted, "bibtex": parse_bibtex, "ris": parse_ris, "csv": parse_zotero_csv}


def parse_upload(filename: str, data: bytes, cap: int = MAX_REFS) -> ParsedRefs:
    """An uploaded export, its format told by its name or else by its content."""
    text = decode(data).replace("\x00", "")
    return PARSERS[detect_format(filename, text)](text, cap)


def merge(first: ParsedRefs, second: ParsedRefs) -> ParsedRefs:
    """Pasted text and an uploaded file sent together, as one list under one cap."""
    out = _Collector(first.format if first.refs or not second.refs else second.format, first.cap)
    for ref in [*first.refs, *second.refs]:
        out.add(ref)
    out.result.dropped += first.dropped + second.dropped
    out.result.problems = [*first.problems, *second.problems]
    return out.result
