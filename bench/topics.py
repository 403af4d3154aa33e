"""Topic classification quality: ``python bench/topics.py [--taxonomy FILE] [--labels FILE] [--show N]``.

Measures the shipped classifier against papers we labelled ourselves, by meaning
(``bench/topic_labels.json``: arXiv id → the topic slugs the paper truly belongs to, and its
split: ``tuning`` was labelled before any tuning and the taxonomy was tuned on it, the
``held-out-*`` splits were not used for tuning; see the file's "about"). The texts come from
../shared/fixtures: every paper of the recorded feeds, parsed by the project's own parsers
(``service.sources.source_for``: HF daily JSON, arXiv RSS, arXiv API), and random samples of
the relevance corpus. Each paper is classified by ``service.topics.taxonomy`` exactly
as ingestion does, then per topic: support (labelled papers), predicted, TP/FP/FN, precision,
recall and F1; micro (pooled counts) and macro (mean over topics that have papers) overall; and
the false positives and negatives of the topics with the most errors, each with its evidence
(which of the topic's terms the project's matcher found in the title or abstract, and the
category signal); micro and macro per split; the share of the whole corpus each topic takes (a
guard against a term that floods a topic). ``--taxonomy`` measures another TOML file (a candidate
edit, or the old one); ``--split`` restricts everything to one split.

Skips with a message when ../shared/fixtures is absent; under CI=true that is an error (exit 2).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from service.papers import PaperIn
from service.sources import source_for
from service.topics.taxonomy import Taxonomy, classify, classify_evidence, load_taxonomy

FIXTURES = REPO.parent / "shared" / "fixtures"
LABELS = REPO / "bench" / "topic_labels.json"
CORPUS = "corpus/arxiv_cs_ai_2024-09_2024-12.jsonl.gz"


# ---- the engine-facing calls: adapt these when the classifier's API moves ------------------


def load(path: Path | None) -> Taxonomy:
    return load_taxonomy(path)


def classify_paper(paper: PaperIn, taxonomy: Taxonomy) -> set[str]:
    """What ingestion stores for this paper (service.topics.store calls the same function)."""
    return set(classify(paper.title, paper.abstract, paper.categories, paper.primary_category, taxonomy))


def evidence_of(paper: PaperIn, slug: str, taxonomy: Taxonomy) -> str:
    """Why the classifier did or did not put PAPER in SLUG, in the classifier's own terms.

    In the topic: its ``classify_evidence``. Not in it: the same call on the topic alone with
    one hit enough and no category, which shows the terms it found too few of, or that a
    negative ("!term") exclusion kept the paper out.
    """
    topic = taxonomy.get(slug)
    if topic is None:
        return "(no such topic)"
    found = _evidence(paper, taxonomy, slug)
    if found:
        return found
    probe = replace(topic, categories=(), strong_categories=(), min_abstract_hits=1)
    partial = _evidence(paper, Taxonomy((probe,)), slug)
    if partial:
        return f"too little: {partial} (needs {topic.min_abstract_hits} abstract hits, a matching category counting one)"
    unvetoed = replace(probe, exclude=tuple(e for e in topic.exclude if not e.startswith("!")))
    if unvetoed.exclude != topic.exclude and _evidence(paper, Taxonomy((unvetoed,)), slug):
        return f"kept out by a negative term ({', '.join(e for e in topic.exclude if e.startswith('!'))})"
    categories = set(paper.categories) | ({paper.primary_category} if paper.primary_category else set())
    weak = sorted(categories & set(topic.categories + topic.strong_categories))
    return f"only the category {', '.join(weak)} (+1)" if weak else "no term or category of the topic"


def _evidence(paper: PaperIn, taxonomy: Taxonomy, slug: str) -> str:
    for e in classify_evidence(paper.title, paper.abstract, paper.categories, paper.primary_category, taxonomy):
        if e.slug == slug:
            parts = [f"{where}: {', '.join(repr(t) for t in terms)}"
                     for where, terms in (("title", e.title_terms), ("abstract", e.abstract_terms)) if terms]
            if e.category:
                topic = taxonomy.get(slug)
                decisive = topic is not None and e.category == paper.primary_category and e.category in topic.strong_categories
                parts.append(f"primary category {e.category} (decisive)" if decisive else f"category {e.category} (+1)")
            return "; ".join(parts) or "(no evidence given)"
    return ""


# ---- pure: scores -----------------------------------------------------------------------


@dataclass(frozen=True)
class TopicScore:
    """Counts for one topic (or pooled over all of them, for the micro average)."""

    slug: str
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Report:
    topics: tuple[TopicScore, ...]
    micro: TopicScore
    # Means over the topics that have a labelled paper or a prediction (others say nothing).
    macro_precision: float
    macro_recall: float
    macro_f1: float


@dataclass(frozen=True)
class Error:
    paper_id: str
    slug: str
    kind: str  # "fp": predicted, not labelled; "fn": labelled, not predicted


def score(
    gold: Mapping[str, AbstractSet[str]], predicted: Mapping[str, AbstractSet[str]], slugs: Sequence[str]
) -> Report:
    """Per-topic and overall precision/recall/F1 of PREDICTED against GOLD (paper id → slugs)."""
    counts = {slug: TopicScore(slug) for slug in slugs}
    for paper_id, truth in gold.items():
        guess = predicted.get(paper_id, frozenset())
        for slug in slugs:
            s = counts[slug]
            if slug in truth and slug in guess:
                counts[slug] = replace(s, tp=s.tp + 1)
            elif slug in guess:
                counts[slug] = replace(s, fp=s.fp + 1)
            elif slug in truth:
                counts[slug] = replace(s, fn=s.fn + 1)
    topics = tuple(counts[slug] for slug in slugs)
    micro = TopicScore("micro", sum(t.tp for t in topics), sum(t.fp for t in topics), sum(t.fn for t in topics))
    seen = [t for t in topics if t.support or t.predicted] or [micro]
    return Report(
        topics=topics,
        micro=micro,
        macro_precision=sum(t.precision for t in seen) / len(seen),
        macro_recall=sum(t.recall for t in seen) / len(seen),
        macro_f1=sum(t.f1 for t in seen) / len(seen),
    )


def errors(gold: Mapping[str, AbstractSet[str]], predicted: Mapping[str, AbstractSet[str]]) -> list[Error]:
    """Every wrong (paper, topic) pair, by paper id then slug."""
    found: list[Error] = []
    for paper_id in sorted(gold):
        truth, guess = gold[paper_id], predicted.get(paper_id, frozenset())
        found += [Error(paper_id, slug, "fp") for slug in sorted(guess - truth)]
        found += [Error(paper_id, slug, "fn") for slug in sorted(truth - guess)]
    return found


def worst_first(found: Iterable[Error], report: Report, kind: str) -> list[Error]:
    """Errors of KIND, the topics with most such errors first (where tuning pays most)."""
    per_topic = {t.slug: (t.fp if kind == "fp" else t.fn) for t in report.topics}
    chosen = [e for e in found if e.kind == kind]
    return sorted(chosen, key=lambda e: (-per_topic.get(e.slug, 0), e.slug, e.paper_id))


def format_report(report: Report, corpus_share: Mapping[str, float] | None = None) -> str:
    """The table; CORPUS_SHARE (slug → fraction of a whole corpus classified there) adds a column."""
    extra = f" {'corpus%':>7}" if corpus_share is not None else ""
    lines = [f"{'topic':24} {'support':>7} {'pred':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'recall':>6} {'F1':>6}{extra}"]
    for t in (*report.topics, report.micro):
        if t is report.micro:
            lines.append("-" * len(lines[0]))
        share = f" {100 * corpus_share.get(t.slug, 0.0):7.1f}" if corpus_share is not None and t is not report.micro else ""
        lines.append(
            f"{t.slug:24} {t.support:7} {t.predicted:5} {t.tp:4} {t.fp:4} {t.fn:4} "
            f"{t.precision:6.2f} {t.recall:6.2f} {t.f1:6.2f}{share}"
        )
    lines.append(
        f"{'macro':24} {'':7} {'':5} {'':4} {'':4} {'':4} "
        f"{report.macro_precision:6.2f} {report.macro_recall:6.2f} {report.macro_f1:6.2f}"
    )
    return "\n".join(lines)


# ---- I/O: the labelled papers ----------------------------------------------------------


def feed_papers(feeds_dir: Path) -> dict[str, PaperIn]:
    """Every arXiv paper of the recorded feeds, through the parser ingestion would choose."""
    papers: dict[str, PaperIn] = {}
    for path in sorted(feeds_dir.iterdir()):
        if path.suffix not in (".json", ".xml"):
            continue
        body = path.read_bytes()
        for paper in source_for(body).parse(body).papers:
            if paper.arxiv_id:
                papers.setdefault(paper.arxiv_id, paper)
    return papers


def corpus_papers(path: Path, wanted: AbstractSet[str] | None = None) -> dict[str, PaperIn]:
    """The corpus rows named in WANTED (default: all), as the arXiv parsers would report them."""
    papers: dict[str, PaperIn] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if wanted is None or row["id"] in wanted:
                papers[row["id"]] = PaperIn(
                    uid=f"arxiv:{row['id']}",
                    arxiv_id=row["id"],
                    title=row["title"],
                    abstract=row["abstract"],
                    authors=row["authors"],
                    categories=row["categories"],
                    primary_category=row["categories"][0] if row["categories"] else None,
                )
    return papers


def corpus_share(papers: Iterable[PaperIn], taxonomy: Taxonomy) -> dict[str, float]:
    """Per topic, the fraction of PAPERS classified there: a guard against tuning that fits the
    labelled few and floods the rest (the labelled corpus sample says what share is right)."""
    counts: Counter[str] = Counter()
    total = 0
    for paper in papers:
        counts.update(classify_paper(paper, taxonomy))
        total += 1
    return {slug: counts[slug] / total for slug in taxonomy.slugs} if total else {}


@dataclass(frozen=True)
class Label:
    """One labelled paper of ``topic_labels.json``."""

    source: str  # "feeds/<file>" or "corpus/<file>" under ../shared/fixtures
    split: str  # "tuning" (the config was tuned on these) or "held-out-N"
    title: str
    topics: frozenset[str]


def read_labels(path: Path) -> dict[str, Label]:
    rows = json.loads(path.read_text(encoding="utf-8"))["papers"]
    return {pid: Label(r["source"], r.get("split", ""), r["title"], frozenset(r["topics"])) for pid, r in rows.items()}


def labelled_papers(labels: Mapping[str, Label], fixtures: Path) -> dict[str, PaperIn]:
    papers = feed_papers(fixtures / "feeds")
    by_file: dict[str, set[str]] = {}
    for paper_id, label in labels.items():
        if label.source.startswith("corpus/"):
            by_file.setdefault(label.source, set()).add(paper_id)
    for source, ids in by_file.items():
        papers.update(corpus_papers(fixtures / source, ids))
    missing = sorted(set(labels) - set(papers))
    if missing:
        raise SystemExit(f"labelled papers not found in {fixtures}: {', '.join(missing[:10])}")
    return {paper_id: papers[paper_id] for paper_id in labels}


def fixtures_or_exit(path: Path) -> Path:
    if path.is_dir():
        return path
    message = f"bench/topics.py: shared fixtures not found at {path}"
    if os.environ.get("CI", "").lower() == "true":
        print(f"{message} (CI=true: failing, not skipping)", file=sys.stderr)
        raise SystemExit(2)
    print(f"{message}: skipped")
    raise SystemExit(0)


def print_errors(found: Sequence[Error], report: Report, papers: Mapping[str, PaperIn], taxonomy: Taxonomy,
                 show: int) -> None:
    for kind, title in (("fp", "False positives (classified, not labelled)"), ("fn", "False negatives (labelled, missed)")):
        listed = worst_first(found, report, kind)
        print(f"\n{title}: {len(listed)}, the first {min(show, len(listed))}, topics with most first")
        for e in listed[:show]:
            paper = papers[e.paper_id]
            print(f"  {e.slug:22} {e.paper_id:11} {paper.title[:70]}")
            print(f"  {'':22} {'':11} evidence: {evidence_of(paper, e.slug, taxonomy)}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--taxonomy", type=Path, default=None, help="topics TOML (default: config/topics.toml)")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--split", default=None, help="only the labelled papers of this split (tuning, held-out-2...)")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--show", type=int, default=15, help="false positives and negatives to list (each)")
    args = parser.parse_args(argv)
    fixtures = fixtures_or_exit(args.fixtures)
    labels = read_labels(args.labels)
    if args.split:
        labels = {pid: label for pid, label in labels.items() if label.split == args.split}
    taxonomy = load(args.taxonomy)
    unknown = sorted({s for label in labels.values() for s in label.topics} - set(taxonomy.slugs))
    if unknown:
        raise SystemExit(f"labels name topics the taxonomy lacks: {', '.join(unknown)}")
    papers = labelled_papers(labels, fixtures)
    gold = {pid: label.topics for pid, label in labels.items()}
    predicted = {pid: frozenset(classify_paper(p, taxonomy)) for pid, p in papers.items()}
    report = score(gold, predicted, taxonomy.slugs)
    sources = Counter(label.source.split("/")[0] for label in labels.values())  # feeds | corpus
    print(
        f"{len(papers)} labelled papers ({', '.join(f'{n} from {s}' for s, n in sorted(sources.items()))}), "
        f"{sum(map(len, gold.values()))} labels; taxonomy {args.taxonomy or 'config/topics.toml'} "
        f"version {taxonomy.version}\n"
    )
    everything = corpus_papers(fixtures / CORPUS) if (fixtures / CORPUS).is_file() else {}
    share = corpus_share(everything.values(), taxonomy) if everything else None
    print(format_report(report, share))
    if share is not None:
        print(f"(corpus%: share of all {len(everything)} papers of {CORPUS} the classifier puts in the topic)")
    print()
    for split in sorted({label.split for label in labels.values()}):
        part = score({k: gold[k] for k, label in labels.items() if label.split == split}, predicted, taxonomy.slugs)
        m = part.micro
        print(f"split {split or '-':10} {sum(l.split == split for l in labels.values()):4} papers: micro P "
              f"{m.precision:.2f} R {m.recall:.2f} F1 {m.f1:.2f}, macro F1 {part.macro_f1:.2f}")
    print_errors(errors(gold, predicted), report, papers, taxonomy, args.show)


if __name__ == "__main__":
    main()
