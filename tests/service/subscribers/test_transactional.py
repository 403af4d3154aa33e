"""Transactional mail rendered from the subscriber's row at send time, on SQLite and PostgreSQL,
through the memory backend: who gets which mail, which links it carries, and when nothing is sent."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import unquote

import pytest

from config.settings import Settings
from service.mail import DeliveryError, fail_recipient, memory_outbox
from service.mail.toolkit import DeliveryTools
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from service.subscribers.tokens import read_token
from service.subscribers.transactional import schedule_text, send_mail

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
BASE = "http://papermail.test"


@pytest.fixture
def tools(db_settings: Settings) -> DeliveryTools:
    return DeliveryTools.from_settings(db_settings)


def add(settings: Settings, email: str, *, confirmed: bool = True, **changes: object) -> int:
    prefs = Preferences(topics=["agents"], keywords=["tool use"], frequency="weekly", send_hour=7,
                        timezone="Europe/Paris")
    with session_scope(settings) as session:
        subscriber = create_subscriber(session, email, prefs, confirmed=confirmed, now=NOW)
        for name, value in changes.items():
            setattr(subscriber, name, value)
        session.commit()
        return subscriber.id


def only_message() -> EmailMessage:
    [sent] = memory_outbox()
    return sent.message


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def link_token(text: str, purpose: str) -> str:
    found = re.search(rf"{re.escape(BASE)}/{purpose}/([A-Za-z0-9_.\-]+)", text)
    assert found is not None, f"no /{purpose}/ link in the mail"
    return found.group(1)


def test_a_pending_subscriber_gets_a_confirmation_without_list_headers(db_settings: Settings,
                                                                       tools: DeliveryTools) -> None:
    sid = add(db_settings, "ann@example.org", confirmed=False)

    line = send_mail(db_settings, "confirm", sid, tools)

    message = only_message()
    assert line == f"confirm for subscriber {sid}: sent {message['Message-ID']}"
    assert (message["To"], message["Subject"]) == ("ann@example.org", "Confirm your subscription to papermail")
    assert read_token(db_settings, "confirm", link_token(text_of(message), "confirm")).subscriber_id == sid
    assert "You follow Agents & tool use, and the keyword “tool use”." in " ".join(text_of(message).split())
    for name in ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"):
        assert name not in message


def test_a_retried_mail_repeats_its_message_id(db_settings: Settings, tools: DeliveryTools) -> None:
    sid = add(db_settings, "ann@example.org", confirmed=False)
    send_mail(db_settings, "confirm", sid, tools)
    send_mail(db_settings, "confirm", sid, tools)
    first, again = (m.message["Message-ID"] for m in memory_outbox())
    assert first == again and first.startswith("<confirm.")


def test_an_address_change_is_confirmed_at_the_new_address(db_settings: Settings, tools: DeliveryTools) -> None:
    sid = add(db_settings, "ann@example.org", pending_email="ann@new.example.org")

    send_mail(db_settings, "change", sid, tools)

    message = only_message()
    assert message["To"] == "ann@new.example.org"
    data = read_token(db_settings, "confirm", link_token(text_of(message), "confirm"))
    assert (data.subscriber_id, data.extra) == (sid, {"e": "ann@new.example.org"})


def test_the_welcome_carries_one_unsubscribe_token_in_the_link_and_the_mailto(db_settings: Settings,
                                                                             tools: DeliveryTools) -> None:
    sid = add(db_settings, "ann@example.org")

    send_mail(db_settings, "welcome", sid, tools)

    message = only_message()
    assert message["Subject"] == "Welcome to papermail"
    text = text_of(message)
    assert "every week at 07:00 (Europe/Paris)" in text
    # topics by their names, never their slugs, and the keywords too
    assert "You follow Agents & tool use, and the keyword “tool use”." in " ".join(text.split())
    header = message["List-Unsubscribe"]
    url_token = link_token(header, "unsubscribe")
    mailto = re.search(r"<mailto:unsubscribe@[^?]+\?subject=unsubscribe-([^>]+)>", header)
    assert mailto is not None and unquote(mailto.group(1)) == url_token
    assert read_token(db_settings, "unsubscribe", url_token).subscriber_id == sid
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert read_token(db_settings, "preferences", link_token(text, "preferences")).subscriber_id == sid


@pytest.mark.parametrize(("kind", "status", "subject", "says"), [
    ("already", "active", "You're already subscribed to papermail", "so nothing changed"),
    ("already", "paused", "You're already subscribed to papermail", "(paused at the moment)"),
    ("links", "active", "Your new papermail links", "Your new links"),
])
def test_already_subscribed_and_new_links(db_settings: Settings, tools: DeliveryTools,
                                          kind: str, status: str, subject: str, says: str) -> None:
    sid = add(db_settings, "ann@example.org", status=status)

    send_mail(db_settings, kind, sid, tools)

    message = only_message()
    assert message["Subject"] == subject
    assert says in text_of(message)
    assert "List-Unsubscribe" in message


@pytest.mark.parametrize(("kind", "changes"), [
    ("confirm", {}),  # confirmed meanwhile
    ("change", {"pending_email": None}),  # no address change pending
    ("welcome", {"status": "unsubscribed"}),
    ("already", {"status": "suppressed"}),
    ("links", {"status": "pending"}),
])
def test_a_mail_whose_reason_went_away_is_not_sent(db_settings: Settings, tools: DeliveryTools,
                                                   kind: str, changes: dict[str, object]) -> None:
    sid = add(db_settings, "ann@example.org", **changes)
    assert send_mail(db_settings, kind, sid, tools) == f"{kind} for subscriber {sid}: nothing to send"
    assert memory_outbox() == []


def test_an_unknown_subscriber_gets_nothing_and_an_unknown_kind_is_refused(db_settings: Settings,
                                                                          tools: DeliveryTools) -> None:
    assert send_mail(db_settings, "welcome", 999_999, tools) == "welcome for subscriber 999999: nothing to send"
    with pytest.raises(ValueError, match="unknown transactional mail kind"):
        send_mail(db_settings, "digest", add(db_settings, "ann@example.org"), tools)
    assert memory_outbox() == []


def test_a_refused_send_raises_for_the_caller_to_retry(db_settings: Settings, tools: DeliveryTools) -> None:
    sid = add(db_settings, "ann@example.org")
    fail_recipient("ann@example.org", DeliveryError("421 try later", permanent=False), times=1)

    with pytest.raises(DeliveryError) as refused:
        send_mail(db_settings, "welcome", sid, tools)
    assert refused.value.permanent is False
    send_mail(db_settings, "welcome", sid, tools)
    assert [m.to for m in memory_outbox()] == ["ann@example.org"]


@pytest.mark.parametrize(("frequency", "hour", "expected"), [
    ("daily", 8, "every day at 08:00 (UTC)"),
    ("weekdays", 17, "every weekday at 17:00 (UTC)"),
    ("fortnightly", 6, "regularly at 06:00 (UTC)"),
])
def test_schedule_text(frequency: str, hour: int, expected: str) -> None:
    assert schedule_text(Subscriber(frequency=frequency, send_hour=hour, timezone="UTC")) == expected
