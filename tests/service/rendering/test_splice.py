"""The spliced digest is the plain Jinja digest, byte for byte: hundreds of generated readers
(hostile and non-ASCII titles, votes or none, marks, statuses, empty digests) rendered both ways;
and the splicing itself refuses what it could not redo per reader."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from pathlib import Path

import jinja2
import pytest

from service.rendering import DigestContext, DigestLinks, DigestPaper, EmailRenderer, render_digest
from service.rendering.digest import render_digest_plain
from service.rendering.digest import paper_view
from service.rendering.digest_splice import build_splicer, frame_shape, paper_shape
from service.rendering.reader_paper import PaperBlock, ReaderPaper, block_of
from service.rendering.environment import TEMPLATES_DIR, greedy_wrap, wrap
from service.rendering.splice import OPEN, Pieces, Recorder, Slot, SplicedTemplate, SpliceError, slot_aware
from tests.service.rendering.samples import ABSTRACT, DAY, SENDER, spans_of

TITLES = [
    "Rotate, Then Round: Outlier-Free Post-Training Quantization for Large Language Models",
    "<script>alert('x')</script> & \"Agents\" &amp; <b>bold</b> claims",
    "Über-Modelle: naïve Bayes für Sprachmodelle — ein Überblick (日本語, emoji 🚀)",
    "Scaling $\\mathcal{O}(n)$ Attention with \\textbf{Linear} Kernels",
    "A" * 40 + " " + "very long title that has to be cut between words in the subject line " * 2,
    "Short",
    "Quotes ' and \" and `backticks` {{ not jinja }} {% neither %}",
]
TERMS = ["quantization", "agents", "attention", "models", "Bayes", "Linear", "claims", "outlier"]
MARKS = ["now trending", "code released", "<new> & improved"]


def make_paper(rng: random.Random, i: int, reader: int) -> DigestPaper:
    """Paper I as READER gets it: its own fields fixed by I, the reader's drawn from RNG."""
    own = random.Random(i)
    title = TITLES[i % len(TITLES)]
    abstract = ABSTRACT if i % 3 else "Short abstract about agents & <tags> with “quotes”."
    terms = tuple(rng.sample(TERMS, rng.randint(0, 3)))
    voted = reader % 3 != 0
    return DigestPaper(
        title=title,
        url=own.choice([f"https://huggingface.co/papers/2511.{i:05d}", None, "javascript:alert(1)"]),
        authors=["Ada Lovelace", "José Núñez", "李雷", "O'Brien"][: 1 + i % 4],
        organization=own.choice([None, "Example AI Lab", "Lab <&> Co"]),
        upvotes=own.choice([None, 0, 7, 1234]),
        topics=("Efficient inference", "LLMs") if i % 2 else ("Agents & tools",),
        abstract=abstract,
        title_spans=spans_of(title, *terms),
        abstract_spans=spans_of(abstract, *terms),
        pdf_url=f"https://arxiv.org/pdf/2511.{i:05d}" if i % 4 else None,
        code_url="https://github.com/example/a?b=1&c=2" if i % 2 else None,
        project_url="https://example.org/project" if i % 5 == 0 else None,
        matched_terms=list(terms),
        matched_topics=["Efficient inference"] if i % 2 else [],
        trending=not terms and i % 2 == 0,
        why=[f"'{t}' in the abstract" for t in terms] if reader % 2 else [],
        more_url=f"https://papermail.test/vote/{reader}.1.{i}.u.MAC&x=<1>" if voted else None,
        less_url=f"https://papermail.test/vote/{reader}.1.{i}.d.MAC" if voted else None,
        ai_summary=own.choice([None, "Rotating before rounding removes outliers.", "Ein Überblick: <kurz> & gut"]),
        marks=tuple(rng.sample(MARKS, rng.randint(0, 2))) if i % 3 == 0 else (),
    )


def make_digest(rng: random.Random, reader: int) -> DigestContext:
    count = rng.choice([0, 1, 2, 5, 10, 10, 10])
    token = f"{reader}.1.MAC{reader}"
    return DigestContext(
        recipient=rng.choice([f"reader{reader}@example.org", f"o'neil+{reader}@exämple.org"]),
        date=DAY.replace(day=1 + reader % 28),
        papers=[make_paper(rng, i, reader) for i in rng.sample(range(14), count)],
        links=DigestLinks(
            preferences_url=f"https://papermail.test/preferences/{token}",
            unsubscribe_url=f"https://papermail.test/unsubscribe/{token}",
            unsubscribe_token=token,
            view_in_browser_url=rng.choice([None, f"https://papermail.test/digest/{token}?d=1&x=2"]),
            archive_url=rng.choice([None, f"https://papermail.test/archive/{token}"]),
            feed_url=rng.choice([None, f"https://papermail.test/feed/{token}"]),
        ),
        sender=SENDER,
        why=rng.choice(["", "You asked for this <on purpose> & happily."]),
        status=rng.choice([None, None, "arXiv announced nothing today (holiday).", "Hugging Face is late & <slow>"]),
    )


def test_hundreds_of_generated_digests_splice_to_the_plain_render_byte_for_byte() -> None:
    rng = random.Random(17)
    contexts = [make_digest(rng, reader) for reader in range(400)]
    spliced, plain = EmailRenderer(), EmailRenderer()
    for ctx in contexts + contexts[:50]:  # the repeat comes wholly from kept shapes
        assert render_digest(ctx, spliced) == render_digest_plain(ctx, plain), ctx.recipient
    splicer = spliced.derived("digest-splicer", build_splicer)
    assert splicer is not None
    # Shapes were shared: far fewer first renders than papers rendered.
    assert len(splicer.html_paper.shapes) < sum(len(c.papers) for c in contexts) / 3


def as_readers(ctx: DigestContext) -> DigestContext:
    """CTX as a worker builds it: each paper a ReaderPaper on its (shared) block."""
    blocks: dict[int, PaperBlock] = {}
    papers = []
    for p in ctx.papers:
        assert isinstance(p, DigestPaper)
        bare = replace(p, more_url=None, less_url=None, marks=())
        block = blocks.setdefault(hash(repr(bare)), block_of(bare))  # readers with equal papers share a block
        papers.append(ReaderPaper(block, p.more_url, p.less_url, tuple(p.marks)))
    return replace(ctx, papers=papers)


def test_hundreds_of_generated_digests_of_reader_papers_splice_to_the_plain_render_byte_for_byte() -> None:
    rng = random.Random(23)
    contexts = [make_digest(rng, reader) for reader in range(400)]
    spliced, plain = EmailRenderer(), EmailRenderer()
    for ctx in contexts + contexts[:50]:
        fast = as_readers(ctx)
        assert [p.reference() for p in fast.papers] == list(ctx.papers)
        assert fast.matched == ctx.matched
        assert render_digest(fast, spliced) == render_digest_plain(ctx, plain), ctx.recipient
        assert render_digest_plain(fast, plain) == render_digest_plain(ctx, plain)
    # both kinds of paper meet the same shapes
    mixed = [render_digest(ctx, spliced) for ctx in contexts[:50]]
    assert mixed == [render_digest_plain(ctx, plain) for ctx in contexts[:50]]


def test_readers_of_one_paper_keep_their_own_highlights_votes_and_marks() -> None:
    rng = random.Random(3)
    base = make_paper(rng, 2, 1)
    one = replace(base, title_spans=(), abstract_spans=(), marks=(), more_url=None, less_url=None)
    two = replace(base, title_spans=spans_of(base.title, "Bayes"), marks=("code released",),
                  more_url="https://papermail.test/vote/2.u", less_url="https://papermail.test/vote/2.d")
    renderer = EmailRenderer()
    first, second = (render_digest(replace(make_digest(rng, 5), papers=[p]), renderer) for p in (one, two))
    assert "<mark>" not in first.html.split("Your papers")[1] and "<mark>Bayes</mark>" in second.html
    assert "vote/2.u" in second.html and "vote/2.u" not in first.html and "[code released]" in second.text


def test_a_marker_character_in_a_paper_falls_back_to_the_plain_render() -> None:
    rng = random.Random(5)
    ctx = make_digest(rng, 1)
    # A field every reader shares, so it is part of the first render's literals.
    odd = replace(make_paper(rng, 1, 1), organization=f"Private use {OPEN}0\ue001 character")
    ctx = replace(ctx, papers=[odd])
    renderer = EmailRenderer()
    assert render_digest(ctx, renderer) == render_digest_plain(ctx, EmailRenderer())
    assert render_digest(as_readers(ctx), renderer) == render_digest_plain(ctx, EmailRenderer())
    splicer = renderer.derived("digest-splicer", build_splicer)
    assert splicer is not None and not splicer.html_paper.shapes  # nothing kept from the refused render


def test_templates_without_a_paper_region_render_the_plain_way(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES_DIR / "email", tmp_path / "email")
    for name in ("body.mjml", "body.txt"):
        path = tmp_path / "email" / "digest" / name
        path.write_text(path.read_text().replace("{# paper #}", "").replace("{# /paper #}", ""))
    renderer = EmailRenderer(templates_dir=tmp_path)
    ctx = make_digest(random.Random(9), 2)
    assert renderer.derived("digest-splicer", build_splicer) is None
    assert render_digest(ctx, renderer) == render_digest_plain(ctx, EmailRenderer())


def spliced(source: str, html: bool = True) -> SplicedTemplate:
    env = jinja2.Environment(autoescape=html, undefined=jinja2.StrictUndefined)
    slot_aware(env, {"wrap": wrap})
    return SplicedTemplate(env.from_string(source), html)


def test_a_filter_other_than_wrap_on_a_readers_value_is_refused() -> None:
    template = spliced("<p>{{ name | upper }}</p>")
    with pytest.raises(SpliceError):
        template.render("k", ["alice"], lambda r: {"name": Slot(r, 0)})
    concatenated = spliced("<p>{{ 'Hi ' ~ name }}</p>")
    with pytest.raises(SpliceError):
        concatenated.render("k", ["alice"], lambda r: {"name": Slot(r, 0)})
    compared = spliced("{% if name == 'alice' %}hi{% endif %}", html=False)
    with pytest.raises(SpliceError):
        compared.render("k", ["alice"], lambda r: {"name": Slot(r, 0)})


def test_values_are_escaped_and_wrapped_per_reader_as_jinja_would() -> None:
    html = spliced("<p title=\"{{ a }}\">{{ a }}</p>{{ b }}")
    stand_ins = lambda r: {"a": Slot(r, 0), "b": Slot(r, 1, verbatim=True)}  # noqa: E731
    assert html.render("k", ["<x & 'y'>", "<b>ok</b>"], stand_ins) == (
        "<p title=\"&lt;x &amp; &#39;y&#39;&gt;\">&lt;x &amp; &#39;y&#39;&gt;</p><b>ok</b>"
    )
    text = spliced("Why: {{ a | wrap(20, 5) }}.", html=False)
    words = "one two three four five six seven"
    assert text.render("k", [words], lambda r: {"a": Slot(r, 0)}) == f"Why: {wrap(words, 20, 5)}."


def test_a_render_whose_markers_do_not_match_its_stand_ins_is_refused() -> None:
    recorder = Recorder(html=True)
    marker = recorder.use(0, (), escaped=True)
    with pytest.raises(SpliceError):
        Pieces.split(f"{marker} and again {marker}", recorder)
    with pytest.raises(SpliceError):
        Pieces.split(f"a stray {OPEN} here {marker}", recorder)
    assert Pieces.split(f"<{marker}>", recorder).fill(["&"]) == "<&amp;>"


def test_a_context_name_the_splicer_does_not_know_is_a_loud_error() -> None:
    with pytest.raises(TypeError, match="not declared"):
        frame_shape({"surprise": "value"})


def test_a_value_through_two_filters_is_redone_in_order_per_reader() -> None:
    text = spliced("{{ a | wrap(30) | wrap(12, 2) }}", html=False)
    words = "alpha beta gamma delta epsilon zeta eta theta"
    assert text.render("k", [words], lambda r: {"a": Slot(r, 0)}) == wrap(wrap(words, 30), 12, 2)


def test_a_papers_shape_says_which_of_the_readers_values_are_set_and_how_unset_ones_are() -> None:
    paper = DigestPaper(title="Sparse attention", url="https://example.org/p", abstract=ABSTRACT,
                        why=("“attention” in the title",), more_url="https://x/v/1", less_url="https://x/v/2",
                        marks=("now trending",))
    view = paper_view(paper)
    key, values = paper_shape(view)
    assert values[:5] == ("now trending", "[now trending] Sparse attention", "https://x/v/1", "https://x/v/2",
                          "“attention” in the title")
    assert key[1:] == (1, True, True, True) and key[0][:2] == (view.unmarked_id, True)
    without = paper_view(replace(paper, more_url=None, less_url=None, why=(), marks=()))
    unset_key, _ = paper_shape(without)
    # None and "" stay themselves in the key: a template may tell them apart.
    assert unset_key[1:] == (0, True, None, None) and unset_key[0][:2] == (without.unmarked_id, "")
    # a ReaderPaper of the same paper has the same shape and values
    reader = ReaderPaper(block_of(paper), paper.more_url, paper.less_url, tuple(paper.marks))
    assert reader.spliced_shape() == (key, values)


def test_a_paper_block_shares_only_what_its_unmarked_id_names_and_every_field_is_declared() -> None:
    from dataclasses import fields

    from service.rendering.digest import PaperView, Unmarked
    from service.rendering.digest_splice import OWN, SHARED

    # a shared field not fixed by unmarked_id would carry one reader's value into another's digest
    assert set(SHARED) <= {f.name for f in fields(Unmarked)}
    # and every field a block may print is one or the other (OWN also names the ``heading`` property)
    assert set(SHARED).isdisjoint(OWN) and {f.name for f in fields(PaperView)} <= set(SHARED) | set(OWN)


def test_wrap_equals_the_greedy_wrap_for_texts_that_fit_and_those_that_do_not() -> None:
    rng = random.Random(12)
    words = ["a", "bb", "quantization", "https://example.org/" + "x" * 70, "日本語", "\n", "  ", "\t"]
    for n in range(3000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 14)))
        width, indent = rng.choice([(72, 0), (68, 3), (63, 8), (10, 2)])
        padded = text + " " * (n % 3)
        assert wrap(padded, width, indent) == greedy_wrap(padded.split(), width, indent)
