"""Compact link tokens (one HMAC each): links in mails sent before them keep working, and
forged or tampered ones are refused."""

from __future__ import annotations

import base64
import hmac

import pytest

from config.settings import Settings
from service.subscribers.tokens import InvalidToken, _serializer, make_token, read_token


def itsdangerous_token(settings: Settings, purpose: str, sid: int, version: int, **extra: object) -> str:
    """A token as make_token wrote them before the compact form (mails already sent hold these)."""
    return _serializer(settings, purpose).dumps({"s": sid, "v": version, **extra})  # type: ignore[arg-type]


def test_non_expiring_tokens_are_compact(settings: Settings) -> None:
    token = make_token(settings, "digest", 42, 3, d=7)
    assert token.startswith("42.3.d7.")
    assert len(token) < 40


@pytest.mark.parametrize("purpose", ["preferences", "unsubscribe", "feed", "digest", "archive"])
def test_links_in_mails_already_sent_still_open(settings: Settings, purpose: str) -> None:
    old = itsdangerous_token(settings, purpose, 9, 2, d=11)
    data = read_token(settings, purpose, old)  # type: ignore[arg-type]
    assert (data.subscriber_id, data.version, data.extra) == (9, 2, {"d": 11})


def test_old_tokens_stay_bound_to_their_purpose(settings: Settings) -> None:
    with pytest.raises(InvalidToken):
        read_token(settings, "unsubscribe", itsdangerous_token(settings, "preferences", 9, 2))


def test_confirmation_tokens_keep_their_expiring_form(settings: Settings) -> None:
    token = make_token(settings, "confirm", 5, 1, e="alice@example.org")
    assert not token[0].isdigit()
    assert read_token(settings, "confirm", token).extra == {"e": "alice@example.org"}


def test_a_compact_token_is_not_a_confirmation(settings: Settings) -> None:
    with pytest.raises(InvalidToken):
        read_token(settings, "confirm", make_token(settings, "preferences", 5, 1))


def test_non_integer_extras_fall_back_to_the_serializer(settings: Settings) -> None:
    token = make_token(settings, "archive", 5, 1, q="text")
    assert read_token(settings, "archive", token).extra == {"q": "text"}


def test_compact_tokens_refuse_other_purposes(settings: Settings) -> None:
    token = make_token(settings, "feed", 1, 1)
    for purpose in ("preferences", "unsubscribe", "digest", "archive"):
        with pytest.raises(InvalidToken):
            read_token(settings, purpose, token)


def test_tampered_compact_tokens_are_refused(settings: Settings) -> None:
    token = make_token(settings, "digest", 42, 3, d=7)
    payload, _, mac = token.rpartition(".")
    forged = [
        token.replace("42.", "43.", 1),           # another subscriber
        token.replace(".3.", ".4.", 1),           # a newer version
        token.replace(".d7.", ".d8.", 1),         # another delivery
        token.replace(".d7.", ".", 1),            # extra dropped
        f"{payload}.d9.{mac}",                    # extra added
        f"{payload}.{mac[:-1]}",                  # MAC cut
        f"{payload}.{mac}A",                      # MAC grown
        f"{payload}.{'A' * len(mac)}",            # MAC made up
        f"{payload}.",                            # no MAC
        "42.3.d7.d7." + mac,                      # repeated extra
        "42",
        "4\u0662.3." + mac,                       # non-ASCII digit
    ]
    for bad in forged:
        with pytest.raises(InvalidToken):
            read_token(settings, "digest", bad)


def test_a_compact_token_under_another_secret_is_refused(settings: Settings) -> None:
    other = settings.model_copy(update={"secret_key": "another-secret-key-0123456789-abcdef"})
    with pytest.raises(InvalidToken):
        read_token(other, "unsubscribe", make_token(settings, "unsubscribe", 1, 1))


def hmac_token(settings: Settings, purpose: str, payload: str) -> str:
    """A compact token as make_token wrote them before BLAKE2s (HMAC-SHA256 cut to 128 bits)."""
    key = hmac.digest(settings.secret_key.encode(), f"papermail.link.{purpose}".encode(), "sha256")
    mac = hmac.digest(key, payload.encode(), "sha256")[:16]
    return f"{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_compact_tokens_carry_a_96_bit_mac(settings: Settings) -> None:
    token = make_token(settings, "unsubscribe", 42, 3)
    payload, _, mac = token.rpartition(".")
    assert payload == "42.3" and len(mac) == 16 and len(base64.urlsafe_b64decode(mac)) == 12


@pytest.mark.parametrize("purpose", ["preferences", "unsubscribe", "feed", "digest", "archive"])
def test_hmac_links_in_mails_already_sent_still_open(settings: Settings, purpose: str) -> None:
    old = hmac_token(settings, purpose, "9.2.d11")
    assert len(old.rpartition(".")[2]) == 22
    data = read_token(settings, purpose, old)  # type: ignore[arg-type]
    assert (data.subscriber_id, data.version, data.extra) == (9, 2, {"d": 11})


def test_hmac_links_stay_bound_to_their_purpose_and_payload(settings: Settings) -> None:
    old = hmac_token(settings, "preferences", "9.2")
    payload, _, mac = old.rpartition(".")
    with pytest.raises(InvalidToken):
        read_token(settings, "unsubscribe", old)
    for bad in (f"9.3.{mac}", f"{payload}.{mac[:16]}", f"{payload}.{mac}A", f"{payload}.{mac[:-1]}B"):
        with pytest.raises(InvalidToken):
            read_token(settings, "preferences", bad)


def test_each_mac_length_is_checked_by_its_own_algorithm(settings: Settings) -> None:
    new = make_token(settings, "feed", 7, 1)
    payload, _, mac = new.rpartition(".")
    old_mac = hmac_token(settings, "feed", payload).rpartition(".")[2]
    with pytest.raises(InvalidToken):  # the HMAC's first 16 characters are not a BLAKE2s MAC
        read_token(settings, "feed", f"{payload}.{old_mac[:16]}")
    with pytest.raises(InvalidToken):  # nor is a BLAKE2s MAC padded to the old length an HMAC
        read_token(settings, "feed", f"{payload}.{mac}AAAAAA")
