"""classify: a message's bytes to one outcome, and who it is about, believing signed evidence first."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from service.inbound.classify import Verifier, classify
from service.inbound.outcome import About
from service.inbound.verp import BounceAddresses, BounceRef
from service.subscribers.tokens import make_token
from tests.conftest import make_settings
from tests.service.inbound import messages as m


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, mail_from="Papermail Digest <digest@papermail.test>",
                         base_url="https://papermail.test")


@pytest.fixture
def verifier(settings: Settings) -> Verifier:
    return Verifier.from_settings(settings)


def verp(settings: Settings, delivery_id: int = 7) -> str:
    return BounceAddresses.from_settings(settings).address(BounceRef("delivery", delivery_id))


def test_a_5xx_dsn_to_a_verp_address_is_a_hard_bounce_about_that_delivery(settings: Settings,
                                                                         verifier: Verifier) -> None:
    address = verp(settings)
    outcome = classify(m.dsn(address), [address], verifier)
    assert (outcome.kind, outcome.source) == ("hard", "dsn")
    assert outcome.about == About("verp", delivery_id=7)
    assert outcome.reason.startswith("5.1.1 550 5.1.1")


def test_a_4xx_failure_is_soft_a_delay_is_no_bounce(settings: Settings, verifier: Verifier) -> None:
    address = verp(settings)
    soft = classify(m.dsn(address, status="4.4.7", diagnostic="smtp; 451 4.4.7 try later"), [address], verifier)
    assert soft.kind == "soft" and soft.about == About("verp", delivery_id=7)
    full = classify(m.dsn(address, status="5.2.2", diagnostic="smtp; 552 5.2.2 mailbox full"), [address], verifier)
    assert full.kind == "soft"  # mailbox full clears by itself
    delayed = classify(m.dsn(address, status="4.4.1", action="delayed"), [address], verifier)
    assert delayed.kind == "unknown" and "delayed" in delayed.reason
    delivered = classify(m.dsn(address, status="2.0.0", action="delivered"), [address], verifier)
    assert delivered.kind == "unknown" and "delivered" in delivered.reason


def test_the_verp_address_is_read_from_the_headers_of_a_fetched_message(settings: Settings,
                                                                        verifier: Verifier) -> None:
    outcome = classify(m.dsn(verp(settings, 99)), [], verifier)
    assert outcome.kind == "hard" and outcome.about == About("verp", delivery_id=99)


def test_without_a_token_the_returned_unsubscribe_token_then_final_recipient_say_who(settings: Settings,
                                                                                    verifier: Verifier) -> None:
    token = make_token(settings, "unsubscribe", 12, 3)
    signed = classify(m.dsn("bounces@papermail.test", returned=m.original_headers(unsubscribe_token=token)),
                      ["bounces@papermail.test"], verifier)
    assert signed.about == About("list-unsubscribe", subscriber_id=12, token_version=3)
    plain = classify(m.dsn("digest@papermail.test", final_recipient="bob@example.org"), [], verifier)
    assert plain.kind == "hard" and plain.about == About("final-recipient", address="bob@example.org")
    assert not plain.about.signed


def test_a_forged_verp_token_makes_the_report_worthless(settings: Settings, verifier: Verifier) -> None:
    forged = "bounces+aaaaaaaaaaaaaaaaaaaaaaa@papermail.test"
    outcome = classify(m.dsn(forged), [forged], verifier)
    assert outcome.kind == "unknown" and outcome.about is None and "forged" in outcome.reason
    other_key = make_settings(settings.data_dir, mail_from=settings.mail_from, secret_key="x" * 20 + "another-key")
    made_elsewhere = verp(other_key)
    assert classify(m.dsn(made_elsewhere), [made_elsewhere], verifier).kind == "unknown"


def test_an_arf_complaint_names_its_subscriber(settings: Settings, verifier: Verifier) -> None:
    by_mail_from = classify(m.arf("fbl@papermail.test", original_mail_from=verp(settings, 5)), [], verifier)
    assert (by_mail_from.kind, by_mail_from.source) == ("complaint", "arf")
    assert by_mail_from.about == About("verp", delivery_id=5)
    token = make_token(settings, "unsubscribe", 8, 1)
    by_token = classify(m.arf("fbl@papermail.test", original_rcpt_to=None,
                              returned=m.original_headers("redacted@example.org", token)), [], verifier)
    assert by_token.about == About("list-unsubscribe", subscriber_id=8, token_version=1)
    by_address = classify(m.arf("fbl@papermail.test"), [], verifier)
    assert by_address.about == About("original-rcpt-to", address="alice@example.org")
    not_spam = classify(m.arf("fbl@papermail.test", feedback_type="not-spam"), [], verifier)
    assert not_spam.kind == "unknown"


def test_a_mail_to_the_unsubscribe_address_carries_the_token_in_its_subject(settings: Settings,
                                                                          verifier: Verifier) -> None:
    token = make_token(settings, "unsubscribe", 4, 2)
    outcome = classify(m.unsubscribe_mail(token), ["unsubscribe@papermail.test"], verifier)
    assert (outcome.kind, outcome.source) == ("unsubscribe", "mailto")
    assert outcome.about == About("mailto", subscriber_id=4, token_version=2)
    bad = classify(m.unsubscribe_mail(token[:-2] + "zz"), ["unsubscribe@papermail.test"], verifier)
    assert bad.kind == "unknown" and bad.about is None


def test_non_standard_bounces_go_through_flufl_bounce(settings: Settings, verifier: Verifier) -> None:
    address = verp(settings, 3)
    qmail = classify(m.qmail_bounce(address), [address], verifier)
    assert (qmail.kind, qmail.source, qmail.about) == ("hard", "bounce", About("verp", delivery_id=3))
    warning = classify(m.gmail_delay_warning("digest@papermail.test", "carol@example.org"), [], verifier)
    assert warning.kind == "soft" and warning.about == About("bounce-text", address="carol@example.org")


@pytest.mark.parametrize("data", [
    m.plain_mail("bounces@papermail.test"),
    b"",
    b"\x00\xff\xfe garbage \r\n\r\n\x00",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n"
    b"Content-Type: message/delivery-status\r\n\r\n--x--\r\n",
])
def test_anything_else_is_unknown_and_never_raises(data: bytes, verifier: Verifier) -> None:
    outcome = classify(data, ["bounces@papermail.test"], verifier)
    assert outcome.kind == "unknown" and outcome.about is None
