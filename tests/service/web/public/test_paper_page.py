"""/papers/{arxiv_id}: the paper in full, its sources and similar papers; every other name of it
redirects to its one address; an unknown one is a 404 page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import Paper


def best_paper(settings: Settings) -> Paper:
    with session_scope(settings) as session:
        return session.scalars(select(Paper).order_by(Paper.upvotes.desc())).first()  # type: ignore[return-value]


def test_the_page_has_the_whole_paper(client: TestClient, site: Settings) -> None:
    paper = best_paper(site)
    response = client.get(f"/papers/{paper.arxiv_id}")
    assert response.status_code == 200
    html = response.text
    assert f'<h1 id="paper-title" class="paper-page__title">{paper.title}</h1>' in html.replace("&#39;", "'")
    assert paper.abstract.replace("'", "&#39;").replace('"', "&#34;") in html
    assert all(name in html for name in paper.authors)
    assert "Reported by demo" in html and f"arXiv:{paper.arxiv_id}" in html
    assert f'href="https://arxiv.org/pdf/{paper.arxiv_id}"' in html
    assert f'href="/?date={paper.announced_on.isoformat()}"' in html  # type: ignore[union-attr]
    similar = re.findall(r'class="pline__title" href="/papers/([^"]+)"', html)
    assert similar and paper.arxiv_id not in similar
    assert len(similar) <= 6 and client.get(f"/papers/{similar[0]}").status_code == 200
    assert 'href="/#subscribe"' in html


def test_other_names_of_a_paper_redirect_to_its_address(client: TestClient, site: Settings) -> None:
    paper = best_paper(site)
    for other in (str(paper.id), f"p-{paper.id}", f"{paper.arxiv_id}v3"):
        response = client.get(f"/papers/{other}")
        assert response.status_code == 301 and response.headers["location"] == f"/papers/{paper.arxiv_id}", other


def test_papers_without_an_arxiv_id_and_old_style_ids(client: TestClient, site: Settings) -> None:
    now = datetime.now(UTC)
    with session_scope(site) as session:
        blog = Paper(uid="feed:post-1", title="A blog post about agents", abstract="Agents.", first_seen_at=now)
        old = Paper(uid="arxiv:hep-th/9901001", arxiv_id="hep-th/9901001", title="Strings", first_seen_at=now)
        session.add_all([blog, old])
        session.flush()
        blog_id = blog.id
    assert client.get(f"/papers/p-{blog_id}").status_code == 200
    assert client.get(f"/papers/{blog_id}").headers["location"] == f"/papers/p-{blog_id}"
    response = client.get("/papers/hep-th/9901001")
    assert response.status_code == 200 and "Strings" in response.text and "The source gave no abstract." in response.text
    assert client.get("/papers/hep-th/9901001v2").headers["location"] == "/papers/hep-th/9901001"


def test_unknown_papers_are_a_404_page(client: TestClient) -> None:
    for path in ("/papers/2999.99999", "/papers/p-999999", "/papers/not-a-paper", "/papers/..%2Fadmin",
                 "/papers/99999999999999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "No such paper" in response.text
