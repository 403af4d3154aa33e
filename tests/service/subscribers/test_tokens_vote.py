"""Vote tokens: one per (subscriber, paper, direction), a 96-bit BLAKE2s MAC; the HMAC-SHA256
tokens of mails already sent still open, and neither form survives a changed field."""

from __future__ import annotations

import base64
import hmac

import pytest

from config.settings import Settings
from service.subscribers.tokens import InvalidToken, make_vote_token, read_token, read_vote_token, vote_link


def hmac_vote_token(settings: Settings, payload: str) -> str:
    """A vote token as make_vote_token wrote them before BLAKE2s (mails already sent hold these)."""
    key = hmac.digest(settings.secret_key.encode(), b"papermail.vote", "sha256")
    mac = hmac.digest(key, payload.encode(), "sha256")[:16]
    return f"{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def fields(settings: Settings, token: str) -> tuple[int, int, int, int]:
    data = read_vote_token(settings, token)
    return data.subscriber_id, data.version, data.paper_id, data.value


def test_a_vote_token_names_subscriber_version_paper_and_direction(settings: Settings) -> None:
    more, less = make_vote_token(settings, 42, 3, 285, 1), make_vote_token(settings, 42, 3, 285, -1)
    assert more.startswith("42.3.285.u.") and less.startswith("42.3.285.d.")
    assert len(more.rpartition(".")[2]) == 16 and more.rpartition(".")[2] != less.rpartition(".")[2]
    assert fields(settings, more) == (42, 3, 285, 1) and fields(settings, less) == (42, 3, 285, -1)
    assert vote_link(settings, 42, 3, 285, 1) == f"{settings.base_url}/vote/{more}"


@pytest.mark.parametrize("value", [1, -1])
def test_hmac_vote_links_in_mails_already_sent_still_open(settings: Settings, value: int) -> None:
    old = hmac_vote_token(settings, f"9.2.77.{'u' if value > 0 else 'd'}")
    assert len(old.rpartition(".")[2]) == 22
    assert fields(settings, old) == (9, 2, 77, value)


@pytest.mark.parametrize("form", ["blake2s", "hmac"])
def test_forged_or_swapped_vote_tokens_are_refused(settings: Settings, form: str) -> None:
    token = make_vote_token(settings, 42, 3, 285, 1) if form == "blake2s" else hmac_vote_token(settings, "42.3.285.u")
    payload, _, mac = token.rpartition(".")
    other = make_vote_token(settings, 42, 3, 286, 1).rpartition(".")[2]
    forged = [
        token.replace(".u.", ".d.", 1),           # the direction swapped
        token.replace("42.", "43.", 1),           # another subscriber
        token.replace(".3.", ".4.", 1),           # another version
        token.replace(".285.", ".286.", 1),       # another paper
        f"{payload}.{other}",                     # another paper's MAC
        f"{payload}.{mac[:-1]}",                  # MAC cut
        f"{payload}.{mac}A",                      # MAC grown
        f"{payload}.{'A' * len(mac)}",            # MAC made up
        f"{payload}.{mac[:16]}" if form == "hmac" else f"{payload}.{mac}AAAAAA",  # the other form's length
        "42.3.285.x." + mac,
        "42.3.28\u0665.u." + mac,                 # non-ASCII digit
    ]
    for bad in forged:
        with pytest.raises(InvalidToken):
            read_vote_token(settings, bad)


def test_a_vote_token_is_worthless_under_another_secret_or_as_a_link_token(settings: Settings) -> None:
    other = settings.model_copy(update={"secret_key": "another-secret-key-0123456789-abcdef"})
    token = make_vote_token(settings, 1, 1, 5, 1)
    with pytest.raises(InvalidToken):
        read_vote_token(other, token)
    with pytest.raises(InvalidToken):
        read_token(settings, "digest", token)
