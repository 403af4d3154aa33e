"""Each mail as a client that drops ``<style>`` shows it (Gmail's apps with non-Google accounts,
many webmails): the HTML part of the real message bytes, every ``<style>`` element removed, in
Debian's Chromium. The words still come apart where they should (the upvote count and the topics,
"PDF" and "Code", the badges, the vote buttons), and the layout still carries its inline styles
(the card, the rules between papers, the titles; a paper's secondary lines are styled from
``<style>`` and fall back to the body's look). With ``<style>`` kept, each line looks as designed."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from service.mail import Composer, Unsubscribe
from service.rendering import render_confirm, render_digest, render_welcome
from service.rendering.already import render_already
from service.rendering.digest import paper_view
from tests.conftest import make_settings
from tests.service.rendering.samples import SENDER, digest, paper
from tests.support.browser import CheckedPage

pytestmark = pytest.mark.integration

BASE = "https://papermail.example"
STRIP_STYLES = "() => { document.querySelectorAll('style').forEach(s => s.remove()); return document.styleSheets.length; }"
SUMMARY = "Rotating activations before rounding removes outlier channels."


@pytest.fixture(scope="module")
def composer(tmp_path_factory: pytest.TempPathFactory) -> Composer:
    var = tmp_path_factory.mktemp("var")
    return Composer.from_settings(make_settings(var, mail_from="papermail <digest@papermail.example>", base_url=BASE))


def html_part(data: bytes) -> str:
    message: EmailMessage = email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[assignment]
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def digest_case(composer: Composer) -> tuple[bytes, list[str]]:
    papers = [
        replace(paper(i), more_url=f"{BASE}/vote/M{i}", less_url=f"{BASE}/vote/L{i}",
                marks=("now trending", "code released") if i == 0 else (), ai_summary=SUMMARY if i == 1 else None)
        for i in range(5)
    ]  # fmt: skip
    ctx = replace(digest(papers=papers), status="arXiv announced nothing today (holiday).")
    rendered = render_digest(ctx)
    data = composer.compose(to_address=ctx.recipient, subject=rendered.subject, text=rendered.text,
                            html=rendered.html, message_key="k", delivery_id=1,
                            unsubscribe=Unsubscribe(ctx.links.unsubscribe_url, "TOKEN")).data  # fmt: skip
    expected = ["now trending code released Rotate, Then Round", "Your papers for Thursday, November 27, 2025"]
    expected.append("5 papers matched your interests")
    expected.append("(holiday). now trending")
    for p in papers:
        view = paper_view(p)
        expected.append(f"{view.title} {view.authors}")  # title, then the authors on a line of their own
        if view.upvotes:
            expected.append(" · ".join([f"▲ {view.upvotes}", *view.topics]))  # "▲ 97 · Efficient inference · LLMs"
        expected.append(" ".join(label for label, _ in view.links))  # "PDF Code Project page"
        expected.append(f"Why: {view.reason} 👍 More like this 👎 Less like this")
    expected.append(f"{SUMMARY} … of weights")
    expected.append("Preferences · Unsubscribe · View in browser You get this email because")
    return data, expected


def confirm_case(composer: Composer) -> tuple[bytes, list[str]]:
    rendered = render_confirm(recipient="alice@example.org", confirm_url=f"{BASE}/confirm/TOKEN", sender=SENDER,
                              topics=["Agents"], keywords=["KV cache"])  # fmt: skip
    data = composer.compose(to_address="alice@example.org", subject=rendered.subject, text=rendered.text,
                            html=rendered.html, message_key="c", kind="confirm").data  # fmt: skip
    return data, ["PAPERMAIL Confirm your subscription Someone, hopefully you,",
                  "sent to alice@example.org. You follow Agents, and the keyword “KV cache”. Confirm within 48 hours",
                  "Confirm subscription If the button does not work, open this link:"]  # fmt: skip


def welcome_case(composer: Composer) -> tuple[bytes, list[str]]:
    rendered = render_welcome(recipient="alice@example.org", preferences_url=f"{BASE}/preferences/T",
                              unsubscribe_url=f"{BASE}/unsubscribe/T", sender=SENDER, topics=["Agents"])  # fmt: skip
    data = composer.compose(to_address="alice@example.org", subject=rendered.subject, text=rendered.text,
                            html=rendered.html, message_key="w", kind="welcome",
                            unsubscribe=Unsubscribe(f"{BASE}/unsubscribe/T", "T")).data  # fmt: skip
    return data, ["PAPERMAIL You're subscribed New AI papers", "at alice@example.org. You follow Agents.",
                  "Open your preferences Preferences · Unsubscribe You get this email"]  # fmt: skip


def already_case(composer: Composer) -> tuple[bytes, list[str]]:
    rendered = render_already(recipient="alice@example.org", preferences_url=f"{BASE}/preferences/T",
                              unsubscribe_url=f"{BASE}/unsubscribe/T", sender=SENDER)  # fmt: skip
    data = composer.compose(to_address="alice@example.org", subject=rendered.subject, text=rendered.text,
                            html=rendered.html, message_key="a", kind="already",
                            unsubscribe=Unsubscribe(f"{BASE}/unsubscribe/T", "T")).data  # fmt: skip
    return data, ["PAPERMAIL You're already subscribed Someone, hopefully you, entered alice@example.org on",
                  "Manage your preferences If the button does not work, open this link: "
                  "https://papermail.example/preferences/T Preferences · Unsubscribe You get this email"]


CASES: dict[str, Callable[[Composer], tuple[bytes, list[str]]]] = {
    "digest": digest_case, "confirm": confirm_case, "welcome": welcome_case, "already": already_case,
}  # fmt: skip


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("width", [375, 600])
@pytest.mark.parametrize("name", list(CASES))
def test_words_stay_apart_and_the_layout_holds_with_every_style_element_removed(
    browser: Any, composer: Composer, name: str, width: int
) -> None:
    data, expected = CASES[name](composer)
    page = browser.new_page(viewport={"width": width, "height": 900})
    checked = CheckedPage(page, width, f"mail-nostyle-{name}")
    try:
        page.set_content(html_part(data), wait_until="load")
        assert page.evaluate(STRIP_STYLES) == 0
        text = flat(page.evaluate("document.body.innerText"))
        for phrase in expected:  # whole words: nothing glued on either side
            assert re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text), f"{phrase!r} not in {text[:3000]!r}"
        assert "PDFCode" not in text and not re.search(r"▲ \d+[A-Za-z]", text)
        # The hidden preheader stays hidden; the card stays a white, centred 600px-wide block.
        assert "&#" not in text and "&zwnj;" not in text and "+ 4 more" not in text
        card = page.evaluate("""() => { const c = [...document.querySelectorAll('div')]
            .find(d => getComputedStyle(d).backgroundColor === 'rgb(255, 255, 255)' && d.offsetWidth > 300);
            return c ? [c.offsetWidth, getComputedStyle(c).maxWidth] : null; }""")
        assert card is not None and card[1] == "600px" and card[0] <= 600
        if name == "digest":
            title = page.evaluate("""() => { const t = document.querySelector('a.title');
                const s = getComputedStyle(t); return [s.fontWeight, s.fontSize, s.textDecorationLine]; }""")
            assert title == ["700", "18px", "none"]  # the phone's 17px lived in the dropped media query
            rules = page.evaluate("""() => [...document.querySelectorAll('div')]
                .filter(d => getComputedStyle(d).borderTopStyle === 'solid').length""")
            assert rules >= 5  # a rule above each paper (and the footer)
        shot = checked.shot("page")
        assert Path(shot).is_file()
        assert checked.errors == []
    finally:
        page.close()


# With <style> kept, as most clients show it: each line of a paper has the size, weight, colour and
# spacing it was designed with (since the secondary lines are styled by class from <style>).
DESIGNED = {
    "a.title": ["18px", "700", "rgb(17, 24, 39)", "0px", "24.3px", "none"],
    ".meta": ["13px", "400", "rgb(95, 107, 122)", "4px", "20.15px", "none"],
    ".tags": ["13px", "600", "rgb(52, 70, 196)", "6px", "20.15px", "none"],
    ".tags .up": ["13px", "700", "rgb(194, 65, 12)", "0px", "20.15px", "none"],
    ".sum": ["15px", "400", "rgb(55, 65, 81)", "10px", "23.25px", "none"],
    ".brief": ["13px", "400", "rgb(95, 107, 122)", "6px", "20.15px", "none"],
    ".abs": ["15px", "400", "rgb(55, 65, 81)", "10px", "23.25px", "none"],
    ".links a": ["14px", "600", "rgb(52, 70, 196)", "0px", "21.7px", "underline"],
    ".why": ["13px", "400", "rgb(107, 116, 128)", "6px", "20.15px", "none"],
    ".vote a": ["13px", "400", "rgb(52, 70, 196)", "0px", "20.15px", "underline"],
    ".foot a": ["12px", "400", "rgb(75, 85, 99)", "0px", "19.2px", "underline"],
}


@pytest.mark.parametrize("width", [375, 600])
def test_with_style_elements_each_line_keeps_its_designed_look(browser: Any, composer: Composer, width: int) -> None:
    data, _ = digest_case(composer)
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.set_content(html_part(data), wait_until="load")
        looks = page.evaluate("""(selectors) => Object.fromEntries(selectors.map(sel => {
            const all = [...document.querySelectorAll(sel)];
            const seen = new Set(all.map(e => { const s = getComputedStyle(e);
                return [s.fontSize, s.fontWeight, s.color, s.marginTop, s.lineHeight, s.textDecorationLine].join('|'); }));
            return [sel, [all.length, [...seen]]]; }))""", list(DESIGNED))
        for selector, look in DESIGNED.items():
            count, seen = looks[selector]
            expected = list(look)
            if width == 375 and selector == "a.title":
                expected[0], expected[4] = "17px", "22.95px"  # the phone's media query
            assert count >= 1 and seen == ["|".join(expected)], (selector, seen)
    finally:
        page.close()
