"""The subscriber's whole journey in Debian's Chromium against a real `papermail web` and a real
worker: subscribe → confirmation mail in the outbox → confirm → preferences with a live preview
→ save → unsubscribe with the button. At 375 px and 1280 px: screenshots in test-artifacts/,
no console errors, no horizontal scroll."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from config.settings import Settings
from tests.conftest import REPO_ROOT
from tests.support.browser import CheckedPage
from tests.support.outbox import wait_for_mail
from tests.support.processes import celery_worker
from tests.support.web_server import embedded_web, ingest_todays_samples

pytestmark = pytest.mark.integration



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """`papermail web` and `papermail worker` on one embedded DATA_DIR, mail into the outbox."""
    tmp = tmp_path_factory.mktemp("journey")
    with embedded_web(tmp, ingest_todays_samples) as (url, settings), celery_worker(
        settings, REPO_ROOT, tmp / "worker.log", concurrency=1
    ):
        yield url, settings



def mail_links(settings: Settings, to: str, subject: str, purpose: str) -> str:
    """The first /PURPOSE/ link of the message to TO with SUBJECT, once the worker wrote it."""

    def matching(messages: list[EmailMessage]) -> list[EmailMessage]:
        return [m for m in messages if m["To"] == to and m["Subject"] == subject]

    [message, *_] = matching(wait_for_mail(settings, lambda messages: bool(matching(messages))))
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"{re.escape(settings.base_url)}/{purpose}/[A-Za-z0-9_.\-]+", text)
    assert found, text
    return found.group(0)


def preview_text(page: Any) -> str:
    return str(page.locator("#preview").inner_text())


@pytest.mark.parametrize("width", [375, 1280])
def test_subscribe_confirm_tune_and_unsubscribe(server: tuple[str, Settings], browser: Any, width: int) -> None:
    url, settings = server
    email = f"reader{width}@example.org"
    context = browser.new_context(viewport={"width": width, "height": 900}, timezone_id="Europe/Paris")
    page = context.new_page()
    checked = CheckedPage(page, width, "web")
    try:
        page.goto(url + "/")
        assert page.locator(".pcard").count() > 0  # the latest day's papers (tests/browser/test_front_page.py)
        assert page.locator("#timezone").input_value() == "Europe/Paris"  # filled in by the script
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        checked.shot("home")

        page.get_by_label("Email address").fill(email)
        if not page.get_by_label("Efficient inference").is_visible():  # folded on a phone
            page.get_by_text("Choose topics and schedule").click()
        page.get_by_label("Efficient inference").check()
        page.get_by_label("Keywords (optional)").fill("quantization")
        page.get_by_role("button", name="Subscribe").click()
        page.wait_for_url(url + "/check-inbox")
        assert page.get_by_role("heading", name="Check your inbox").is_visible()
        checked.shot("check-inbox")

        page.goto(mail_links(settings, email, "Confirm your subscription to papermail", "confirm"))
        # Opening the link only shows a button (a link scanner's GET confirms nothing).
        assert page.get_by_role("heading", name="Confirm your subscription").is_visible()
        checked.shot("confirm")
        page.get_by_role("button", name="Yes, subscribe me").click()
        page.wait_for_url(re.compile(r".*/preferences/.*done=confirmed"))
        assert page.get_by_text("Your subscription is confirmed").is_visible()
        assert page.get_by_label("Efficient inference").is_checked()
        before = preview_text(page)
        assert "paper" in before
        checked.shot("preferences")

        # The preview follows the form before saving (the script asks the server)...
        page.get_by_label("Efficient inference").uncheck()
        page.get_by_label("Keywords", exact=True).fill("agent")
        page.get_by_label("Papers per digest").fill("3")
        page.wait_for_function("before => document.getElementById('preview').innerText !== before", arg=before)
        page.wait_for_function("document.getElementById('preview').getAttribute('aria-busy') === 'false'")
        live = preview_text(page)
        assert live != before and page.locator("#preview .paper").count() <= 3
        # ...and saving keeps it.
        page.get_by_role("button", name="Save preferences").click()
        page.wait_for_url(re.compile(r".*done=saved.*"))
        assert page.get_by_text("Your preferences are saved.").is_visible()
        assert preview_text(page) == live
        assert page.get_by_label("Keywords", exact=True).input_value() == "agent"
        checked.shot("preferences-saved")

        page.goto(mail_links(settings, email, "Welcome to papermail", "unsubscribe"))
        assert page.get_by_role("heading", name="Unsubscribe?").is_visible()
        checked.shot("unsubscribe")
        page.get_by_role("button", name="Unsubscribe").click()
        assert page.get_by_role("heading", name="You're unsubscribed").is_visible()
        assert page.get_by_role("button", name="Resubscribe").is_visible()
        checked.shot("unsubscribed")
    finally:
        context.close()
    assert checked.errors == []
