"""One address rule everywhere: what the mail path can deliver is accepted by the sign-up form,
the CLI, CSV import and the API alike; a non-ASCII local part is refused by each, in words;
an internationalised domain is accepted and mailed as punycode."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.admin.api_tokens import create_token
from service.mail import clear_memory_outbox, memory_outbox, validate_recipient
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.addresses import AddressRefused, deliverable_address, wire_form
from service.subscribers.csv_format import GoodRow, RowIssue, parse_rows
from service.web.app import create_app
from tests.support.cli import run_cli

# (typed, stored) for accepted addresses.
ACCEPTED = [
    ("Alice@Example.ORG", "alice@example.org"),
    ("  bob+news@example.org ", "bob+news@example.org"),
    ("carol@münchen.de", "carol@münchen.de"),
    ("dave@xn--mnchen-3ya.de", "dave@münchen.de"),  # punycode typed: the same mailbox as the Unicode form
    ("erin@例え.jp", "erin@例え.jp"),
]
# (typed, words the refusal must contain).
REFUSED = [
    ("josé@example.com", "before the @ (é)"),
    ("bücher@bücher.de", "before the @ (ü)"),
    ("not-an-address", "not a valid address"),
    ('"a b"@example.com', "not a valid address"),
    ("x@exa_mple.com", "not a valid address"),
    ("a" * 300 + "@example.com", "longer than any email address"),
]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.mark.parametrize(("typed", "stored"), ACCEPTED)
def test_accepted_addresses_are_what_the_mail_path_delivers(typed: str, stored: str) -> None:
    assert deliverable_address(typed) == stored
    on_the_wire = validate_recipient(stored)
    assert on_the_wire.isascii() and on_the_wire == wire_form(stored)


def test_an_idn_domain_goes_out_as_punycode() -> None:
    assert wire_form("carol@münchen.de") == "carol@xn--mnchen-3ya.de"


@pytest.mark.parametrize(("typed", "words"), REFUSED)
def test_refused_addresses_say_why(typed: str, words: str) -> None:
    with pytest.raises(AddressRefused, match=re.escape(words)):
        deliverable_address(typed)


def test_the_mail_path_refuses_what_the_rule_refuses() -> None:
    # The rule is no stricter than needed on this point: the sender itself refuses these.
    for typed in ("josé@example.com", "bücher@bücher.de"):
        with pytest.raises(ValueError):
            validate_recipient(typed)


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    migrate.upgrade(settings)
    clear_memory_outbox()
    return settings


@pytest.fixture
def web(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings), base_url="http://papermail.test", follow_redirects=False) as client:
        yield client


def sign_up(client: TestClient, email: str) -> object:
    match = CSRF_RE.search(client.get("/").text)
    assert match is not None
    form = {"csrf_token": match.group(1), "email": email, "frequency": "daily", "send_hour": "8", "timezone": "UTC"}
    return client.post("/", data=form)


def stored_addresses(settings: Settings) -> list[str]:
    with session_scope(settings) as session:
        return list(session.scalars(select(Subscriber.email).order_by(Subscriber.id)))


def test_the_sign_up_form_refuses_in_words_and_accepts_idn(web: TestClient, app_settings: Settings) -> None:
    for typed, words in REFUSED[:2]:
        response = sign_up(web, typed)
        assert response.status_code == 422  # type: ignore[attr-defined]
        assert words in response.text.replace("&#39;", "'")  # type: ignore[attr-defined]
    assert stored_addresses(app_settings) == []
    assert sign_up(web, "carol@münchen.de").status_code == 303  # type: ignore[attr-defined]
    assert stored_addresses(app_settings) == ["carol@münchen.de"]
    # The confirmation really goes out, to the ASCII form of the address.
    assert [mail.to for mail in memory_outbox()] == ["carol@xn--mnchen-3ya.de"]


def test_the_api_answers_422_in_words(web: TestClient, app_settings: Settings) -> None:
    with session_scope(app_settings) as session:
        _, token = create_token(session, "tests", datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    for typed, words in REFUSED[:3]:
        response = web.post("/api/v1/subscribers", json={"email": typed}, headers=headers)
        assert response.status_code == 422, response.text
        assert words in response.json()["error"]["message"]
    for typed, stored in ACCEPTED[:3]:
        response = web.post("/api/v1/subscribers", json={"email": typed}, headers=headers)
        assert response.status_code in (200, 201), response.text
        assert response.json()["email"] == stored
    assert stored_addresses(app_settings) == [stored for _, stored in ACCEPTED[:3]]


def test_csv_import_names_the_row_and_the_reason() -> None:
    lines = ["email\n", *[f"{typed}\n" for typed, _ in ACCEPTED], "josé@example.com\n"]
    rows = list(parse_rows(lines, set()))
    assert [row.email for row in rows if isinstance(row, GoodRow)] == [stored for _, stored in ACCEPTED]
    [issue] = [row for row in rows if isinstance(row, RowIssue)]
    assert issue.line == len(ACCEPTED) + 2 and issue.kind == "invalid_address"
    assert issue.text().startswith(f"line {issue.line}: invalid address: ") and "before the @ (é)" in issue.text()


@pytest.mark.integration
def test_the_cli_refuses_in_one_line_with_exit_2(app_settings: Settings) -> None:
    refused = run_cli(app_settings, "subscribers", "add", "josé@example.com", "--confirmed")
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "before the @ (é)" in refused.stderr
    accepted = run_cli(app_settings, "subscribers", "add", "Carol@XN--MNCHEN-3YA.de")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == "carol@münchen.de: pending"
    assert stored_addresses(app_settings) == ["carol@münchen.de"]
