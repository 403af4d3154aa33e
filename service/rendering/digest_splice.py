"""The digest rendered by splicing (service.rendering.splice): each paper's HTML and text block
once per shape, the frame around them (head, summary, footer) once per shape, joined per reader.

The templates stay the digest's one source: ``{# paper #}…{# /paper #}`` (a Jinja comment, so the
plain render ignores it) marks the loop body that shows one paper in body.mjml and body.txt. That
region becomes a template of its own over ``paper``; the rest, with the region replaced by
``{{ paper }}``, is the frame, whose ``papers`` are the readers' finished blocks.

What is whose is declared here, once: a paper's fields but its highlights are the same for every
reader whose ``unmarked_id`` is equal (service.rendering.digest.unmarked); its highlighted title and
snippet, marks, heading, reason and vote links are the reader's. A template that reads anything
else fails in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2

from service.rendering.compile import TemplateError
from service.rendering.environment import html_environment, text_environment, wrap
from service.rendering.renderer import PREHEADER_LIMIT, PREHEADER_PAD, SUBJECT_LIMIT, EmailRenderer, RenderedEmail, one_line
from service.rendering.splice import MAX_SHAPES, Recorder, Slot, SplicedTemplate, shown, slot_aware, slot_if_set

BEGIN, END = "{# paper #}", "{# /paper #}"

# PaperView's fields the same for every reader of an unmarked_id, and the reader's own.
SHARED = ("title", "url", "authors", "organization", "byline", "upvotes", "topics", "tagline", "links", "summary",
          "unmarked_id")  # fmt: skip
OWN = ("marks", "heading", "reason", "more_url", "less_url", "title_marked", "snippet", "shown_id")
# The frame's variables: the same for a whole batch (part of the shape), or the reader's own.
FRAME_SHARED = ("sender_name", "postal_address", "count", "preheader_pad")
FRAME_OWN = ("recipient", "long_date", "date_label", "summary", "status", "subject", "subject_title", "preheader",
             "view_in_browser_url", "preferences_url", "why")  # fmt: skip
FRAME_LISTS = ("papers", "footer_links")
SUBJECT_OWN = ("subject_title", "date_label")


class StandInMarked:
    """A highlighted text's stand-in: its HTML and its text are the reader's."""

    __slots__ = ("html", "text")

    def __init__(self, html: Slot, text: Slot) -> None:
        self.html, self.text = html, text


class StandInPaper:
    """A paper as a first render of its shape sees it: shared fields, stand-ins for the reader's."""

    __slots__ = SHARED + OWN

    def __init__(self, view: Any, recorder: Recorder) -> None:
        for name in SHARED:
            setattr(self, name, getattr(view, name))
        n = len(view.marks)
        self.marks = tuple(Slot(recorder, i) for i in range(n))
        self.heading = slot_if_set(recorder, n, view.heading)
        self.more_url = slot_if_set(recorder, n + 1, view.more_url)
        self.less_url = slot_if_set(recorder, n + 2, view.less_url)
        self.reason = slot_if_set(recorder, n + 3, view.reason)
        title, snippet = view.title_marked, view.snippet
        self.title_marked = StandInMarked(slot_if_set(recorder, n + 4, title.html, verbatim=True),
                                          slot_if_set(recorder, n + 5, title.text))
        self.snippet = StandInMarked(slot_if_set(recorder, n + 6, snippet.html, verbatim=True),
                                     slot_if_set(recorder, n + 7, snippet.text))
        # The plain render's fragment key; the stand-in environment keeps no fragments.
        self.shown_id = None


def split_region(source: str, name: str) -> tuple[str, str]:
    """(frame source with ``{{ paper }}`` for the region, the region's source)."""
    if source.count(BEGIN) != 1 or source.count(END) != 1 or source.index(BEGIN) > source.index(END):
        raise TemplateError(f"{name}: expected one {BEGIN}…{END} region around a paper")
    head, rest = source.split(BEGIN)
    region, tail = rest.split(END)
    return head + "{{ paper }}" + tail, region


class DigestSplicer:
    """The digest's five templates (subject, HTML frame and paper, text frame and paper), spliced."""

    def __init__(self, renderer: EmailRenderer, name: str = "digest") -> None:
        html_env = html_environment()
        text_env = text_environment(renderer.templates_dir)
        for env in (html_env, text_env):
            # A fragment kept from one stand-in render would hold that render's markers.
            env.fragments_enabled = False  # type: ignore[attr-defined]
        slot_aware(html_env, {})
        slot_aware(text_env, {"wrap": wrap})
        html_frame, html_paper = split_region(renderer.html_source(name), f"{name}/body.mjml")
        text_frame, text_paper = split_region(renderer.text_source(f"email/{name}/body.txt"), f"{name}/body.txt")
        self.subject = SplicedTemplate(text_env.from_string(renderer.text_source(f"email/{name}/subject.txt")), False)
        self.html_frame = SplicedTemplate(html_env.from_string(html_frame), True)
        self.html_paper = SplicedTemplate(html_env.from_string(html_paper), True)
        self.text_frame = SplicedTemplate(text_env.from_string(text_frame), False)
        self.text_paper = SplicedTemplate(text_env.from_string(text_paper), False)
        self._subjects: dict[tuple[int, str, str], tuple[str, str]] = {}

    def subject_line(self, context: Mapping[str, Any], title: str, limit: int) -> str:
        count = context["count"]
        values = (title, context["date_label"])
        key = (count, shown(title), shown(values[1]))

        def stand_ins(recorder: Recorder) -> dict[str, Any]:
            return {"count": count, **{k: slot_if_set(recorder, i, v) for i, (k, v) in enumerate(zip(SUBJECT_OWN, values))}}

        return one_line(self.subject.render(key, values, stand_ins), limit)

    def fitted_subject(self, context: Mapping[str, Any], cut: Callable[[str, int], str]) -> tuple[str, str]:
        """(the lead title cut to fit, the subject line), as render_digest_plain fits them."""
        lead = (context["count"], context["subject_title"], context["date_label"])
        found = self._subjects.get(lead)
        if found is None:
            rest = len(self.subject_line(context, "X", 1 << 16)) - 1
            title = cut(context["subject_title"], SUBJECT_LIMIT - rest)
            found = title, self.subject_line(context, title, SUBJECT_LIMIT)
            if len(self._subjects) >= MAX_SHAPES:
                self._subjects.clear()
            self._subjects[lead] = found  # a batch's readers share lead papers: their subjects too
        return found

    def render(self, context: Mapping[str, Any], cut: Callable[[str, int], str]) -> RenderedEmail:
        """CUT(title, room) fits the lead title into the subject (render_digest's rule)."""
        title, subject = self.fitted_subject(context, cut)
        preheader = one_line(str(context.get("preheader", "")), PREHEADER_LIMIT)
        full = {**context, "subject_title": title, "subject": subject, "preheader": preheader,
                "preheader_pad": PREHEADER_PAD}
        html_paper, text_paper = self.html_paper.render, self.text_paper.render
        html_blocks, text_blocks = [], []
        for view in full["papers"]:
            key, values = view.spliced_shape()  # PaperView: paper_shape; reader_paper.ReaderPaper: its block's
            stand_ins = _paper_stand_ins(view)
            html_blocks.append(html_paper(key, values, stand_ins))
            text_blocks.append(text_paper(key, values, stand_ins))
        frame_key, own, frame_stand_ins = frame_shape(full)
        html = self.html_frame.render(frame_key, [*own, *html_blocks], frame_stand_ins)
        text = self.text_frame.render(frame_key, [*own, *text_blocks], frame_stand_ins)
        return RenderedEmail(subject=subject, html=html, text=text, preheader=preheader)


def paper_shape(view: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(shape key, the reader's values in StandInPaper's slot order)."""
    title, snippet = view.title_marked, view.snippet
    block, tail = block_shape(view.unmarked_id, view.reason, title.html, title.text, snippet.html, snippet.text)
    return reader_shape(block, tail, view.marks, view.heading, view.more_url, view.less_url)


def block_shape(unmarked_id: int, reason: str, title_html: str, title_text: str, snippet_html: str,
                snippet_text: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(a paper block's part of the shape key, its values after the reader's own): what every reader
    with these highlights and reason shares (service.rendering.reader_paper keeps it per block)."""
    # Which values are set is part of the shape (a template may test them): ``v and True`` is shown(v).
    key = (unmarked_id, reason and True, title_html and True, title_text and True, snippet_html and True,
           snippet_text and True)
    return key, (reason, title_html, title_text, snippet_html, snippet_text)


def reader_shape(block: tuple[Any, ...], tail: tuple[Any, ...], marks: Sequence[str], heading: str,
                 more: str | None, less: str | None) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(shape key, values in StandInPaper's slot order) from a block's part and the reader's own."""
    return (block, len(marks), heading and True, more and True, less and True), (*marks, heading, more, less, *tail)


def _paper_stand_ins(view: Any) -> Any:
    return lambda recorder: {"paper": StandInPaper(view, recorder)}


def frame_shape(full: Mapping[str, Any]) -> tuple[tuple[Any, ...], list[Any], Any]:
    """(shape key, the reader's values but the paper blocks, which follow them, stand-in builder)."""
    if len(full) != len(FRAME_SHARED) + len(FRAME_OWN) + len(FRAME_LISTS):
        unknown = set(full) - {*FRAME_SHARED, *FRAME_OWN, *FRAME_LISTS}
        raise TypeError(f"digest context names not declared in digest_splice: {sorted(unknown)}")
    links: Sequence[tuple[str, str]] = full["footer_links"]
    papers = len(full["papers"])
    own = [full[k] for k in FRAME_OWN]
    key = (tuple([full[k] for k in FRAME_SHARED]), tuple([True if v else v for v in own]),
           tuple([(label, True if url else url) for label, url in links]), papers)  # fmt: skip
    values = own + [url for _, url in links]

    def stand_ins(recorder: Recorder) -> dict[str, Any]:
        n = len(FRAME_OWN)
        return {
            **{k: full[k] for k in FRAME_SHARED},
            **{k: slot_if_set(recorder, i, full[k]) for i, k in enumerate(FRAME_OWN)},
            "footer_links": [(label, slot_if_set(recorder, n + j, url)) for j, (label, url) in enumerate(links)],
            "papers": [Slot(recorder, n + len(links) + j, verbatim=True) for j in range(papers)],
        }

    return key, values, stand_ins


def build_splicer(renderer: EmailRenderer) -> DigestSplicer | None:
    """The renderer's digest splicer; None when its templates have no paper region (a custom
    templates directory from before the region existed): those render the plain way."""
    try:
        return DigestSplicer(renderer)
    except TemplateError:
        return None
    except jinja2.TemplateNotFound:
        return None
