"""`papermail subscribers add EMAIL --like X` (repeatable): X an arXiv id, an arXiv or Hugging
Face paper URL, or an exact title; a bad or ambiguous X is one clear line and nothing is created."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import Paper, Seed, Subscriber
from tests.support.cli import run_cli

pytestmark = pytest.mark.integration


def test_like_ids_urls_and_titles(settings: Settings) -> None:
    migrate.upgrade(settings)
    with session_scope(settings) as session:
        session.add(Paper(uid="arxiv:1706.03762", arxiv_id="1706.03762", title="Attention Is All You Need",
                          authors=[], categories=[]))
    result = run_cli(settings, "subscribers", "add", "alice@example.org",
                     "--like", "2406.01234v2", "--like", "https://huggingface.co/papers/2501.00001",
                     "--like", "https://arxiv.org/pdf/2406.01234v1", "--like", "attention is all you need")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alice@example.org: pending, 3 seed papers added"
    with session_scope(settings) as session:
        rows = session.execute(select(Seed.kind, Seed.ref, Seed.paper_id.is_not(None)).order_by(Seed.id)).all()
    assert [tuple(r) for r in rows] == [("arxiv", "2406.01234", False), ("arxiv", "2501.00001", False),
                                        ("arxiv", "1706.03762", True)]


@pytest.mark.parametrize(("like", "message"), [
    ("https://example.com/paper", "is not an arXiv or Hugging Face paper link"),
    ("2413.01234", "is not a valid arXiv id"),
    ("BERT", "too short to be a paper's title"),
])
def test_a_bad_like_is_one_line_and_creates_nothing(settings: Settings, like: str, message: str) -> None:
    result = run_cli(settings, "subscribers", "add", "bob@example.org", "--like", "2406.01234", "--like", like)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    with session_scope(settings) as session:
        assert session.scalars(select(Subscriber)).all() == []


def test_an_ambiguous_title_names_the_choices_and_creates_nothing(settings: Settings) -> None:
    migrate.upgrade(settings)
    with session_scope(settings) as session:
        session.add_all([Paper(uid=f"arxiv:{a}", arxiv_id=a, title="Scaling Laws Revisited", authors=[], categories=[])
                         for a in ("2401.00001", "2402.00002")])
    result = run_cli(settings, "subscribers", "add", "carol@example.org", "--like", "Scaling Laws Revisited")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "arXiv 2401.00001" in result.stderr and "arXiv 2402.00002" in result.stderr
    with session_scope(settings) as session:
        assert session.scalars(select(Subscriber)).all() == [] and session.scalars(select(Seed)).all() == []
