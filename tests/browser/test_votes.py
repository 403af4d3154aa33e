"""👍 from the inbox, end to end in Debian's Chromium against a real `papermail web`: a digest
goes to the outbox, the HTML part's "More like this" link opens the vote page (which records
nothing by itself), the button records the vote, the preferences page lists the paper as liked,
and undo takes it back. At 375 px and 1280 px:
screenshots in test-artifacts/, no console errors, no horizontal scroll."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.digests.run import run_foreground
from service.mail import list_outbox
from service.mail.toolkit import DeliveryTools
from service.storage.db import session_scope
from service.storage.models import Paper, Subscriber, Vote
from service.subscribers.tokens import link, read_vote_token
from tests.support.browser import CheckedPage
from tests.support.web_server import embedded_web, ingest_todays_samples

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """`papermail web` on an embedded DATA_DIR with the sample papers; digests go to the outbox."""
    with embedded_web(tmp_path_factory.mktemp("votes"), ingest_todays_samples) as (url, settings):
        yield url, settings


def reader_with_a_digest(settings: Settings, email: str) -> int:
    """An active reader (send hour 0, confirmed two days ago) and today's digest in the outbox."""
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        reader = Subscriber(email=email, status="active", send_hour=0, confirmed_at=now - timedelta(days=2),
                            created_at=now - timedelta(days=2),
                            preferences={"topics": ["efficient-inference", "llm"], "keywords": ["quantization"],
                                         "send_hour": 0})
        session.add(reader)
        session.flush()
        reader_id = reader.id
    outcome = run_foreground(settings, now, DeliveryTools.from_settings(settings))[1]
    assert outcome.sent >= 1
    return reader_id


def html_part_of_digest(settings: Settings, email: str) -> str:
    """The HTML part of the one digest in the outbox addressed to EMAIL."""
    parts = [m.get_body(("html",)) for m in (e.message() for e in list_outbox(settings.outbox_dir)) if m["To"] == email]
    [html] = [str(part.get_content()) for part in parts if part is not None and "/vote/" in str(part.get_content())]
    return html


@pytest.mark.parametrize("width", [375, 1280])
def test_thumbs_up_from_the_html_part_records_a_vote_and_undo_takes_it_back(
        server: tuple[str, Settings], browser: Any, width: int) -> None:
    url, settings = server
    email = f"voter{width}@example.org"
    reader_id = reader_with_a_digest(settings, email)
    html = html_part_of_digest(settings, email)
    found = re.search(rf'<a href="({re.escape(url)}/vote/[^"]+)"[^>]*>(?:👍|&#128077;) More like this</a>', html)
    assert found, html[:2000]
    vote_url = found.group(1)
    paper_id = read_vote_token(settings, vote_url.rsplit("/", 1)[1]).paper_id
    with session_scope(settings) as session:
        title = session.get(Paper, paper_id).title  # type: ignore[union-attr]

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    checked = CheckedPage(page, width, "vote")
    try:
        page.goto(vote_url)
        assert page.get_by_role("heading", name="More like this?").is_visible()
        assert page.get_by_text(title[:40]).first.is_visible()
        checked.shot("confirm")
        with session_scope(settings) as session:  # opening the link recorded nothing
            assert session.scalars(select(Vote).where(Vote.subscriber_id == reader_id)).all() == []

        page.get_by_role("button", name="More like this").click()
        page.wait_for_url(re.compile(r".*done=voted"))
        assert page.get_by_text("Recorded.").is_visible()
        assert page.get_by_role("button", name="Undo").is_visible()
        checked.shot("voted")
        with session_scope(settings) as session:
            assert session.execute(select(Vote.paper_id, Vote.value).where(Vote.subscriber_id == reader_id)).all() \
                == [(paper_id, 1)]

        with session_scope(settings) as session:
            reader = session.get(Subscriber, reader_id)
            assert reader is not None
            preferences_url = link(settings, "preferences", reader.id, reader.token_version)
        page.goto(preferences_url + "#learned")
        learned = page.locator("#learned")
        assert learned.get_by_role("heading", name="What papermail learned").is_visible()
        assert learned.get_by_text(title[:40]).first.is_visible()
        checked.shot("learned")

        page.goto(vote_url)
        page.get_by_role("button", name="Undo").click()
        page.wait_for_url(re.compile(r".*done=undone"))
        assert page.get_by_text("Your vote is undone.").is_visible()
        with session_scope(settings) as session:
            assert session.scalars(select(Vote).where(Vote.subscriber_id == reader_id)).all() == []
    finally:
        context.close()
    assert checked.errors == []
