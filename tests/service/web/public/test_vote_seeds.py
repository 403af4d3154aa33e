"""The preferences page's "More like these papers" and "What papermail learned": pasted ids,
links and titles and uploaded BibTeX become seeds, bad lines reported and the rest kept, a flood
capped, a shared title asked about; votes and seeds listed, each removable, all resettable;
every change a POST with CSRF, the page's GET changing nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.actions.votes import cast_vote
from service.storage.db import session_scope
from service.storage.models import AuditLog, Delivery, Paper, Seed, Subscriber, Vote
from tests.service.web.public.conftest import confirmed, csrf_token

NOW = datetime.now(UTC)


@pytest.fixture
def page(client: TestClient) -> str:
    return confirmed(client, "carol@example.org")


def seeds(site: Settings) -> list[tuple[str, str, bool]]:
    with session_scope(site) as session:
        return [(k, r, p is not None) for k, r, p in session.execute(select(Seed.kind, Seed.ref, Seed.paper_id).order_by(Seed.id))]


def add(client: TestClient, page: str, refs: str = "", file: tuple[str, bytes] | None = None) -> object:
    token = csrf_token(client.get(page).text, f"{page}/seeds")
    files = {"file": (file[0], file[1], "application/octet-stream")} if file else {"file": ("", b"", "application/octet-stream")}
    return client.post(f"{page}/seeds", data={"csrf_token": token, "refs": refs}, files=files)


def a_paper(site: Settings) -> tuple[int, str, str]:
    with session_scope(site) as session:
        paper = session.scalars(select(Paper).where(Paper.arxiv_id.is_not(None)).order_by(Paper.id)).first()
        assert paper is not None and paper.arxiv_id
        return paper.id, paper.arxiv_id, paper.title


def test_pasted_ids_links_and_titles_become_seeds_and_bad_lines_are_reported(client: TestClient, site: Settings,
                                                                             page: str) -> None:
    paper_id, arxiv_id, title = a_paper(site)
    refs = f"https://arxiv.org/abs/{arxiv_id}v2\nhttps://huggingface.co/papers/2501.00001\n{title.upper()}\nnope\nA Title Nobody Ingested Yet"
    response = add(client, page, refs)
    assert response.status_code == 200  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    assert "3 seed papers added, 1 already there" in html
    assert "line 4: too short to be a paper&#39;s title" in html
    assert seeds(site) == [("arxiv", arxiv_id, True), ("arxiv", "2501.00001", False),
                           ("title", "A Title Nobody Ingested Yet", False)]
    shown = client.get(page).text
    assert "not in papermail yet" in shown and title.replace("'", "&#39;")[:30] in shown


def test_an_uploaded_bibtex_keeps_good_entries_and_reports_the_broken_block(client: TestClient, site: Settings,
                                                                          page: str) -> None:
    bib = b"@article{a, title={A}, eprint={2406.01234}}\n@misc{broken, title = {never closed\n@article{c, url={https://arxiv.org/abs/2406.05678}}\n"
    response = add(client, page, file=("library.bib", bib))
    html = response.text  # type: ignore[attr-defined]
    assert response.status_code == 200 and "2 seed papers added" in html  # type: ignore[attr-defined]
    assert "line 2: is not valid BibTeX" in html
    assert [r for _, r, _ in seeds(site)] == ["2406.01234", "2406.05678"]


def test_ten_thousand_pasted_ids_are_capped_with_a_message(client: TestClient, site: Settings, page: str) -> None:
    refs = "\n".join(f"2406.{n:05d}" for n in range(1, 10_001))
    html = add(client, page, refs).text  # type: ignore[attr-defined]
    assert "Only the first 200 of 10,000 papers were kept" in html
    assert len(seeds(site)) == 200


def test_nothing_usable_is_a_422_with_the_text_kept(client: TestClient, site: Settings, page: str) -> None:
    response = add(client, page, "garbage")
    assert response.status_code == 422 and "Nothing was added" in response.text  # type: ignore[attr-defined]
    assert ">garbage</textarea>" in response.text  # type: ignore[attr-defined]
    assert add(client, page).status_code == 422  # type: ignore[attr-defined]
    assert seeds(site) == []


def test_a_title_of_several_papers_asks_which_and_the_answer_is_stored(client: TestClient, site: Settings,
                                                                     page: str) -> None:
    with session_scope(site) as session:
        twins = [Paper(uid=f"arxiv:2406.9999{n}", arxiv_id=f"2406.9999{n}", title="Scaling Laws Revisited",
                       authors=[f"Author {n}"], categories=[]) for n in (1, 2)]
        session.add_all(twins)
        session.flush()
        second = twins[1].id
    html = add(client, page, "Scaling laws revisited").text  # type: ignore[attr-defined]
    assert "is the title of 2 papers. Which did you mean?" in html
    assert "arXiv 2406.99991" in html and "arXiv 2406.99992" in html and seeds(site) == []
    action = f"{page}/seeds/choose"
    answer = client.post(action, data={"csrf_token": csrf_token(html, action), "paper": [str(second)]})
    assert answer.status_code == 303 and seeds(site) == [("arxiv", "2406.99992", True)]


def sent_and_liked(site: Settings) -> tuple[int, int]:
    """A digest of two papers sent to carol, the first liked and the second disliked."""
    with session_scope(site) as session:
        carol = session.scalars(select(Subscriber)).one()
        liked, disliked = session.scalars(select(Paper.id).order_by(Paper.id).limit(2)).all()
        session.add(Delivery(subscriber_id=carol.id, period="2000-01-01", status="sent", sent_at=NOW, paper_count=2,
                             paper_ids=[liked, disliked]))
        session.flush()
        cast_vote(session, carol, liked, 1, "subscriber:test", NOW)
        cast_vote(session, carol, disliked, -1, "subscriber:test", NOW)
        return liked, disliked


def test_learned_lists_votes_and_seeds_each_removable_and_reset_forgets_all(client: TestClient, site: Settings,
                                                                          page: str) -> None:
    liked, disliked = sent_and_liked(site)
    add(client, page, "2501.00001\n2501.00002")
    with session_scope(site) as session:
        liked_title = session.get(Paper, liked).title  # type: ignore[union-attr]
        audit_before = len(session.scalars(select(AuditLog.id)).all())
    html = client.get(page).text
    for _ in range(2):
        assert client.get(page).status_code == 200  # looking changes nothing
    with session_scope(site) as session:
        assert len(session.scalars(select(AuditLog.id)).all()) == audit_before
    assert "What papermail learned" in html and liked_title.replace("'", "&#39;")[:30] in html
    assert "arXiv 2501.00001" in html
    # The profile's heaviest terms are shown, and they come from the liked paper's own words.
    terms = re.findall(r'<span class="tag">([^<]+)</span>', html.split("learned__terms", 1)[1].split("</p>", 1)[0])
    assert terms and any(word in liked_title.lower() for term in terms for word in term.split())

    remove_vote = f"{page}/votes/{disliked}/remove"
    assert client.post(remove_vote, data={"csrf_token": csrf_token(html, remove_vote)}).status_code == 303
    with session_scope(site) as session:
        assert session.scalars(select(Vote.paper_id)).all() == [liked]
        first_seed = session.scalars(select(Seed.id).order_by(Seed.id)).first()
    remove_seed = f"{page}/seeds/{first_seed}/remove"
    html = client.get(page).text
    assert client.post(remove_seed, data={"csrf_token": csrf_token(html, remove_seed)}).status_code == 303
    assert [r for _, r, _ in seeds(site)] == ["2501.00002"]

    reset = f"{page}/learned/reset"
    assert client.post(reset, data={}).status_code == 403  # no CSRF, nothing forgotten
    response = client.post(reset, data={"csrf_token": csrf_token(client.get(page).text, reset)})
    assert response.status_code == 303
    after = client.get(response.headers["location"]).text
    assert "papermail forgot what it learned" in after and "Reset what you learned" not in after
    with session_scope(site) as session:
        assert session.scalars(select(Vote.id)).all() == [] and session.scalars(select(Seed.id)).all() == []
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-3:] == ["vote.undo", "seeds.remove", "learned.reset"]
