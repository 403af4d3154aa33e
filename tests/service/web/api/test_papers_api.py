"""/api/v1/papers: the papers by day, week, month, topic and full-text search, paged; one paper
by its arXiv id; errors in the API's one shape."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from service.catalog.cards import paper_day
from service.demo.cast import sample_papers_path
from service.ingest.poll import ingest_document
from service.storage.db import session_scope
from service.storage.models import Paper
from tests.service.web.api.conftest import assert_error


@pytest.fixture
def papers(client: TestClient, settings: Settings) -> list[dict[str, object]]:
    """The bundled sample papers, every one of them through the API (newest day first)."""
    ingest_document(settings, sample_papers_path().read_bytes(), source_name="demo", fmt="hf", now=datetime.now(UTC))
    page = client.get("/api/v1/papers", params={"limit": 500}).json()
    assert page["total"] == len(page["items"]) > 10
    return page["items"]  # type: ignore[no-any-return]


def test_each_paper_has_its_ids_day_upvotes_links_and_topics(client: TestClient, papers: list[dict[str, object]],
                                                            settings: Settings) -> None:
    first = papers[0]
    assert set(first) >= {"id", "slug", "arxiv_id", "uid", "title", "authors", "day", "upvotes", "links", "topics"}
    days = [date.fromisoformat(str(p["day"])) for p in papers]
    assert days == sorted(days, reverse=True)
    with session_scope(settings) as session:
        row = session.get(Paper, first["id"])
        assert row is not None
        assert (first["arxiv_id"], first["slug"], first["uid"]) == (row.arxiv_id, row.arxiv_id, row.uid)
        assert first["day"] == paper_day(row).isoformat()
        assert first["topics"] == [t.slug for t in sorted(row.topics, key=lambda t: (t.position, t.id))]
    links = first["links"]
    assert isinstance(links, dict)
    assert links["page"] == f"{settings.base_url}/papers/{first['arxiv_id']}"
    assert links["arxiv"] == f"https://arxiv.org/abs/{first['arxiv_id']}"


def test_filters(client: TestClient, papers: list[dict[str, object]]) -> None:
    day = str(papers[0]["day"])
    on_day = client.get("/api/v1/papers", params={"date": day}).json()
    assert on_day["total"] == sum(1 for p in papers if p["day"] == day) > 0
    assert all(p["day"] == day for p in on_day["items"])
    year, week, _ = date.fromisoformat(day).isocalendar()
    in_week = client.get("/api/v1/papers", params={"week": f"{year}-W{week:02d}", "limit": 500}).json()
    assert {p["id"] for p in on_day["items"]} <= {p["id"] for p in in_week["items"]}
    in_month = client.get("/api/v1/papers", params={"month": day[:7], "limit": 500}).json()
    assert in_month["total"] >= in_week["total"]

    llm = client.get("/api/v1/papers", params={"topic": "llm", "limit": 500}).json()
    assert llm["total"] == sum(1 for p in papers if "llm" in p["topics"]) > 0  # type: ignore[operator]
    found = client.get("/api/v1/papers", params={"q": "quantization"}).json()
    assert found["items"] and all("quantiz" in (p["title"] + p["abstract"]).lower() for p in found["items"])
    trending = client.get("/api/v1/papers", params={"order": "trending", "limit": 500}).json()["items"]
    assert [p["upvotes"] for p in trending] == sorted((p["upvotes"] for p in trending), reverse=True)


def test_pages(client: TestClient, papers: list[dict[str, object]]) -> None:
    first = client.get("/api/v1/papers", params={"limit": 5}).json()
    second = client.get("/api/v1/papers", params={"limit": 5, "offset": 5}).json()
    assert (first["limit"], second["offset"], first["total"]) == (5, 5, len(papers))
    assert [p["id"] for p in first["items"] + second["items"]] == [p["id"] for p in papers[:10]]


def test_one_paper(client: TestClient, papers: list[dict[str, object]], settings: Settings) -> None:
    arxiv_id = papers[0]["arxiv_id"]
    assert client.get(f"/api/v1/papers/{arxiv_id}").json() == papers[0]
    assert client.get(f"/api/v1/papers/{arxiv_id}v2").json()["id"] == papers[0]["id"]
    assert client.get(f"/api/v1/papers/p-{papers[0]['id']}").json()["id"] == papers[0]["id"]
    with session_scope(settings) as session:
        session.add(Paper(uid="arxiv:hep-th/9901001", arxiv_id="hep-th/9901001", title="Strings",
                          first_seen_at=datetime.now(UTC)))
    strings = client.get("/api/v1/papers/hep-th/9901001").json()
    assert strings["title"] == "Strings" and strings["links"]["page"].endswith("/papers/hep-th/9901001")
    assert_error(client.get("/api/v1/papers/2999.99999"), 404, "not_found")
    assert_error(client.get("/api/v1/papers/not-a-paper"), 404, "not_found")


def test_bad_filters_are_refused_in_the_one_error_shape(client: TestClient) -> None:
    assert assert_error(client.get("/api/v1/papers", params={"date": "2026-02-30"}), 422, "invalid")["field"] \
        == "query.date"
    assert assert_error(client.get("/api/v1/papers", params={"date": "2026-06-01", "month": "2026-06"}), 422,
                        "invalid")["field"] == "query.month"
    assert_error(client.get("/api/v1/papers", params={"week": "2026-W99"}), 422, "invalid")
    assert assert_error(client.get("/api/v1/papers", params={"topic": "astrology"}), 422, "invalid")["field"] \
        == "query.topic"
    assert_error(client.get("/api/v1/papers", params={"topic": "Not A Slug"}), 422, "invalid")
    assert_error(client.get("/api/v1/papers", params={"q": "x" * 201}), 422, "invalid")
    assert_error(client.get("/api/v1/papers", params={"limit": 0}), 422, "invalid")
    assert_error(client.get("/api/v1/papers", params={"order": "random"}), 422, "invalid")
    assert client.get("/api/v1/papers", params={"q": '"NEAR( * -'}).status_code == 200  # a query, not syntax
    with_nul = client.get("/api/v1/papers", params={"q": "agents\x00"})
    assert with_nul.status_code in (200, 400) and ("items" in with_nul.json() or "error" in with_nul.json())


def test_a_token_is_needed(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    assert_error(anonymous.get("/api/v1/papers"), 401, "unauthorized")
    assert_error(anonymous.get("/api/v1/papers/2606.00467"), 401, "unauthorized")
