"""/vote/{token}: every paper of a digest (text part, HTML part, web view) carries "More like
this" / "Less like this"; a GET changes nothing however often a scanner fetches it; the
page's one form records the vote, idempotently, and can be undone; a forged, swapped or
revoked link is a 404 and a paper never sent to the reader is refused, nothing recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from config.settings import Settings
from service.digests.run import run_foreground
from service.mail.toolkit import DeliveryTools
from service.storage.db import session_scope
from service.storage.models import AuditLog, Delivery, Paper, Subscriber, Vote
from service.subscribers.tokens import make_vote_token, read_vote_token
from tests.service.web.public.conftest import BASE, confirmed, csrf_token, link_in, mails_to

EMAIL = "bob@example.org"
VOTE_LINK = re.compile(rf"{re.escape(BASE)}(/vote/[A-Za-z0-9_.\-]+)")


def digest_for(client: TestClient, site: Settings, email: str = EMAIL) -> Delivery:
    """Confirm EMAIL (send hour 0, confirmed two days ago) and send today's digest."""
    confirmed(client, email, topics=["efficient-inference"], keywords="quantization", send_hour="0")
    now = datetime.now(UTC)
    with session_scope(site) as session:
        session.execute(update(Subscriber).where(Subscriber.email == email).values(confirmed_at=now - timedelta(days=2)))
    run_foreground(site, now, DeliveryTools.from_settings(site))
    with session_scope(site) as session:
        sid = session.scalars(select(Subscriber.id).where(Subscriber.email == email)).one()
        return session.scalars(select(Delivery).where(Delivery.subscriber_id == sid, Delivery.status == "sent")).one()


def sent_paper_ids(site: Settings, delivery: Delivery) -> list[int]:
    with session_scope(site) as session:
        return list(session.scalar(select(Delivery.paper_ids).where(Delivery.id == delivery.id)) or [])


def votes(site: Settings) -> list[tuple[int, int]]:
    with session_scope(site) as session:
        return [(p, v) for p, v in session.execute(select(Vote.paper_id, Vote.value).order_by(Vote.paper_id))]


def audit_actions(site: Settings) -> list[str]:
    with session_scope(site) as session:
        return list(session.scalars(select(AuditLog.action).where(AuditLog.action.like("vote.%")).order_by(AuditLog.id)))


def digest_text(email: str = EMAIL) -> str:
    body = mails_to(email)[-1].get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def digest_html(email: str = EMAIL) -> str:
    body = mails_to(email)[-1].get_body(("html",))
    assert body is not None
    return str(body.get_content())


def first_vote_path(client: TestClient, site: Settings) -> str:
    digest_for(client, site)
    return link_in(mails_to(EMAIL)[-1], "vote")


def submit(client: TestClient, path: str, action: str | None = None) -> object:
    """GET the vote page like a browser, then press its button."""
    action = action or path
    return client.post(action, data={"csrf_token": csrf_token(client.get(path).text, action)})


def test_every_paper_of_both_parts_carries_both_signed_links(client: TestClient, site: Settings) -> None:
    delivery = digest_for(client, site)
    papers = sent_paper_ids(site, delivery)
    assert papers
    text, html = digest_text(), digest_html()
    more = re.findall(rf"👍 More like this: {re.escape(BASE)}/vote/(\S+)", text)
    less = re.findall(rf"👎 Less like this: {re.escape(BASE)}/vote/(\S+)", text)
    assert len(more) == len(less) == len(papers)
    # Inline styles after the href; the mail's HTML is ASCII, 👍 a character reference.
    html_more = re.findall(rf'<a href="{re.escape(BASE)}/vote/([^"]+)"[^>]*>(?:👍|&#128077;) More like this</a>', html)
    html_less = re.findall(rf'<a href="{re.escape(BASE)}/vote/([^"]+)"[^>]*>(?:👎|&#128078;) Less like this</a>', html)
    assert html_more == more and html_less == less
    decoded = [read_vote_token(site, token) for token in more + less]
    assert {d.subscriber_id for d in decoded} == {delivery.subscriber_id}
    assert [d.paper_id for d in decoded] == papers + papers
    assert [d.value for d in decoded] == [1] * len(papers) + [-1] * len(papers)


def test_the_web_view_of_a_digest_carries_the_same_links(client: TestClient, site: Settings) -> None:
    delivery = digest_for(client, site)
    page = client.get(link_in(mails_to(EMAIL)[-1], "digest")).text
    tokens = re.findall(rf'href="{re.escape(BASE)}/vote/([^"]+)"[^>]*>(?:👍|&#128077;) More like this', page)
    assert [read_vote_token(site, t).paper_id for t in tokens] == sent_paper_ids(site, delivery)
    assert page.count(" Less like this</a>") == len(tokens)


def test_get_shows_the_paper_and_one_form_and_changes_nothing(client: TestClient, site: Settings) -> None:
    path = first_vote_path(client, site)
    paper_id = read_vote_token(site, path.rsplit("/", 1)[1]).paper_id
    with session_scope(site) as session:
        title = session.get(Paper, paper_id).title  # type: ignore[union-attr]
    for _ in range(3):  # a link scanner fetching it again and again
        response = client.get(path)
        assert response.status_code == 200
    assert response.text.count("<form") == 1 and f'action="{path}"' in response.text
    assert "👍 More like this" in response.text and title.replace("'", "&#39;")[:40] in response.text
    assert votes(site) == [] and audit_actions(site) == []


def test_the_button_records_the_vote_once_and_it_can_be_undone(client: TestClient, site: Settings) -> None:
    path = first_vote_path(client, site)
    paper_id = read_vote_token(site, path.rsplit("/", 1)[1]).paper_id
    response = submit(client, path)
    assert response.status_code == 303 and response.headers["location"] == f"{path}?done=voted"  # type: ignore[attr-defined]
    assert votes(site) == [(paper_id, 1)]
    undo_token = csrf_token(client.get(path).text, f"{path}/undo")  # the page now offers the undo
    assert client.post(path, data={"csrf_token": undo_token}).status_code == 403  # not the vote form's token
    after = client.get(f"{path}?done=voted").text
    assert "Recorded." in after and "You said: more like this" in after and after.count("<form") == 1
    undo = client.post(f"{path}/undo", data={"csrf_token": csrf_token(after, f"{path}/undo")})
    assert undo.status_code == 303 and votes(site) == []
    assert "Your vote is undone." in client.get(undo.headers["location"]).text
    assert submit(client, path).status_code == 303  # voting again after an undo
    assert votes(site) == [(paper_id, 1)]
    assert audit_actions(site) == ["vote.cast", "vote.undo", "vote.cast"]


def test_a_double_submit_is_one_vote_and_the_other_link_changes_it(client: TestClient, site: Settings) -> None:
    digest_for(client, site)
    text = digest_text()
    more = re.search(rf"More like this: {re.escape(BASE)}(/vote/\S+)", text).group(1)  # type: ignore[union-attr]
    less = re.search(rf"Less like this: {re.escape(BASE)}(/vote/\S+)", text).group(1)  # type: ignore[union-attr]
    token = csrf_token(client.get(more).text, more)
    for _ in range(2):
        assert client.post(more, data={"csrf_token": token}).status_code == 303
    paper_id = read_vote_token(site, more.rsplit("/", 1)[1]).paper_id
    assert votes(site) == [(paper_id, 1)]
    page = client.get(less).text
    assert "You said “more like this” about this paper before" in page
    assert submit(client, less).status_code == 303  # type: ignore[attr-defined]
    assert votes(site) == [(paper_id, -1)]
    assert audit_actions(site) == ["vote.cast", "vote.change"]


def test_post_without_csrf_is_refused(client: TestClient, site: Settings) -> None:
    path = first_vote_path(client, site)
    client.get(path)
    assert client.post(path, data={}).status_code == 403
    assert client.post(f"{path}/undo", data={}).status_code == 403
    assert votes(site) == []


def test_forged_swapped_and_revoked_links_are_404_and_record_nothing(client: TestClient, site: Settings) -> None:
    path = first_vote_path(client, site)
    token = path.rsplit("/", 1)[1]
    sid, version, pid, value, mac = token.split(".")
    csrf = csrf_token(client.get(path).text, path)  # a genuine form token: only the link is wrong
    bad = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # tampered MAC
        f"{sid}.{version}.{pid}.{'d' if value == 'u' else 'u'}.{mac}",  # vote swapped
        f"{int(sid) + 1}.{version}.{pid}.{value}.{mac}",  # another reader
        f"{sid}.{version}.{int(pid) + 1}.{value}.{mac}",  # another paper
        "not-a-token", "1.1.1.u", "x.1.1.u.abc",
    ]
    for forged in bad:
        assert client.get(f"/vote/{forged}").status_code == 404, forged
        assert client.post(f"/vote/{forged}", data={"csrf_token": csrf}).status_code == 404, forged
    with session_scope(site) as session:
        session.execute(update(Subscriber).values(token_version=Subscriber.token_version + 1))  # "send me new links"
    response = client.get(path)
    assert response.status_code == 404 and "no longer valid" in response.text
    assert client.post(path, data={"csrf_token": csrf}).status_code == 404
    assert votes(site) == [] and audit_actions(site) == []


def test_a_paper_never_sent_to_the_reader_is_refused(client: TestClient, site: Settings) -> None:
    delivery = digest_for(client, site)
    with session_scope(site) as session:
        bob = session.get(Subscriber, delivery.subscriber_id)
        assert bob is not None
        unsent = session.scalars(select(Paper.id).where(Paper.id.not_in(sent_paper_ids(site, delivery)))).first()
        assert unsent is not None
        token = make_vote_token(site, bob.id, bob.token_version, unsent, 1)
    page = client.get(f"/vote/{token}")
    assert page.status_code == 403 and "Nothing to vote on" in page.text and "<form" not in page.text
    other = link_in(mails_to(EMAIL)[-1], "vote")
    csrf = csrf_token(client.get(other).text, other)
    refused = client.post(f"/vote/{token}", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "Nothing was recorded" in refused.text
    assert votes(site) == []
