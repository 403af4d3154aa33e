"""Link tokens: signed per purpose, confirmation ones expire, tampering is refused."""

from __future__ import annotations

import pytest
import time_machine

from config.settings import Settings
from service.subscribers.tokens import ExpiredToken, InvalidToken, link, make_token, read_token
from tests.conftest import make_settings


def test_round_trip_carries_subscriber_version_and_extra(settings: Settings) -> None:
    token = make_token(settings, "digest", 42, 3, d=7)
    data = read_token(settings, "digest", token)
    assert (data.subscriber_id, data.version, data.extra) == (42, 3, {"d": 7})


def test_a_token_for_one_purpose_is_refused_for_another(settings: Settings) -> None:
    token = make_token(settings, "preferences", 1, 1)
    with pytest.raises(InvalidToken):
        read_token(settings, "unsubscribe", token)


def test_tampered_and_forged_tokens_are_refused(settings: Settings, tmp_path: object) -> None:
    token = make_token(settings, "unsubscribe", 1, 1)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (flipped, token + "x", "", "not-a-token", token.replace(".", "", 1)):
        with pytest.raises(InvalidToken):
            read_token(settings, "unsubscribe", bad)
    other_key = make_settings(settings.data_dir, secret_key="another-secret-key-0123456789-abcdef")
    with pytest.raises(InvalidToken):
        read_token(other_key, "unsubscribe", token)


def test_confirmation_expires_after_the_setting(settings: Settings) -> None:
    with time_machine.travel("2026-11-27 08:00 +0000", tick=False):
        token = make_token(settings, "confirm", 5, 1, e="alice@example.org")
    with time_machine.travel("2026-11-29 07:59 +0000", tick=False):
        assert read_token(settings, "confirm", token).extra == {"e": "alice@example.org"}
    with time_machine.travel("2026-11-29 08:01 +0000", tick=False), pytest.raises(ExpiredToken):
        read_token(settings, "confirm", token)


def test_unsubscribe_tokens_do_not_expire(settings: Settings) -> None:
    with time_machine.travel("2020-01-01 00:00 +0000", tick=False):
        token = make_token(settings, "unsubscribe", 5, 1)
    assert read_token(settings, "unsubscribe", token).subscriber_id == 5


def test_link_is_absolute_under_base_url(settings: Settings) -> None:
    url = link(settings, "unsubscribe", 9, 2)
    assert url.startswith("http://papermail.test/unsubscribe/")
    assert read_token(settings, "unsubscribe", url.rsplit("/", 1)[1]).subscriber_id == 9
