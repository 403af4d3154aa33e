"""VERP bounce addresses: short, one case, signed; read back to the delivery or subscriber they name."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.inbound.addresses import InboundAddresses
from service.inbound.verp import BounceAddresses, BounceRef, make_token, read_token
from service.mail import Composer
from tests.conftest import make_settings

SECRET = "verp-test-secret-0123456789-abcdefghijkl"


@pytest.mark.parametrize("ref", [BounceRef("delivery", 1), BounceRef("delivery", 7_340_033),
                                 BounceRef("subscriber", 42), BounceRef("delivery", 2**63 - 1)])
def test_a_token_reads_back_to_what_it_names(ref: BounceRef) -> None:
    token = make_token(SECRET, ref)
    assert token == token.lower() and token.isalnum()
    assert read_token(SECRET, token) == ref
    assert read_token(SECRET, token.upper()) == ref  # an MTA that upper- or lower-cases changes nothing


def test_a_bounce_address_is_short_enough_for_any_mta() -> None:
    address = BounceAddresses(SECRET, "papermail.test").address(BounceRef("delivery", 9_999_999))
    local = address.partition("@")[0]
    assert local.startswith("bounces+") and len(local) <= 32  # RFC 5321 allows 64


def test_forged_and_damaged_tokens_read_as_nothing() -> None:
    token = make_token(SECRET, BounceRef("delivery", 12))
    flipped = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert read_token(SECRET, flipped) is None
    assert read_token("another-secret-entirely-0123456789abcdef", token) is None
    assert read_token(SECRET, "") is None
    assert read_token(SECRET, "not-base32!") is None
    assert read_token(SECRET, "a" * 200) is None
    # A token for a subscriber is not one for the delivery with the same number.
    assert read_token(SECRET, make_token(SECRET, BounceRef("subscriber", 12))) == BounceRef("subscriber", 12)


def test_routes_are_ours_only(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mail_from="Papermail <digest@papermail.test>", bounce_domain="bounce.papermail.test")
    addresses = InboundAddresses.from_settings(settings)
    good = addresses.bounces.address(BounceRef("delivery", 5))
    assert good.endswith("@bounce.papermail.test")
    assert addresses.route(good) == "bounce"
    assert addresses.route(f"<{good.upper()}>") == "bounce"
    assert addresses.route("bounces@bounce.papermail.test") == "bounce"
    assert addresses.route("unsubscribe@papermail.test") == "unsubscribe"
    assert addresses.route("Unsubscribe@Papermail.Test") == "unsubscribe"
    assert addresses.route("bounces+aaaaaaaaaaaaaaaaaaaaaaa@bounce.papermail.test") == "forged"
    assert addresses.route(good.replace("bounce.papermail.test", "elsewhere.test")) == "foreign"
    assert addresses.route("unsubscribe@bounce.papermail.test") == "foreign"
    assert addresses.route("postmaster@papermail.test") == "foreign"


def test_digests_and_transactional_mail_carry_their_verp_envelope_sender(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mail_from="Papermail <digest@papermail.test>", secret_key=SECRET)
    composer = Composer.from_settings(settings)
    args = {"to_address": "alice@example.org", "subject": "Papers", "text": "t", "html": "<p>h</p>"}
    digest = composer.compose(message_key="d/7", delivery_id=7, **args)  # type: ignore[arg-type]
    welcome = composer.compose(message_key="welcome/3", subscriber_id=3, kind="welcome", **args)  # type: ignore[arg-type]
    test = composer.compose(message_key="test/1", kind="test", **args)  # type: ignore[arg-type]
    bounces = BounceAddresses.from_settings(settings)
    assert bounces.read(digest.envelope_from) == BounceRef("delivery", 7)
    assert bounces.read(welcome.envelope_from) == BounceRef("subscriber", 3)
    assert test.envelope_from == "digest@papermail.test"  # about nobody: MAIL_FROM's address
    assert b"bounces+" not in digest.data  # the envelope only: nothing in the signed header changes
