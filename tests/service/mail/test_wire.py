"""The Composer's direct writer against the EmailMessage route: same content once parsed back."""

from __future__ import annotations

import binascii
import email
import email.policy
import random
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from service.mail import Composer, SenderIdentity, Unsubscribe, wire_bytes
from service.mail.message import parse_sender
from service.mail.wire import (
    encoded_words,
    fold_at_spaces,
    has_long_line,
    html_ascii,
    qp_body,
    text_header,
    unencoded,
)
from tests.service.mail.email_message import build_message

WHEN = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
LONG_URL = "https://arxiv.org/abs/2411.01234?utm_source=papermail&utm_medium=email&utm_campaign=" + "x" * 120
TEXT = (
    "Hello Zoë\n\n"
    ".a line starting with a dot\n.\n"
    "From the editors: a line that mbox would mangle\n"
    "trailing spaces   \ntrailing tab\t\n"
    f"{LONG_URL}\n"
    + "word " * 60
    + "\n日本語のタイトル — ünïcödé ✓ 🎉\r\nold mac line\rend"
)
HTML = f'<p>Bonjour é</p>\n<a href="{LONG_URL}">{"lien " * 40}</a>\n<p>.\n</p>From here =3D not encoded\n' + "x" * 300


def parsed(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def sender(from_value: str, reply_to: str | None = None) -> SenderIdentity:
    return SenderIdentity(
        from_address=parse_sender(from_value, "PAPERMAIL_MAIL_FROM"),
        reply_to=parse_sender(reply_to, "PAPERMAIL_MAIL_REPLY_TO") if reply_to else None,
        allow_test_domains=True,
    )


CASES: list[tuple[SenderIdentity, dict[str, Any]]] = [
    (sender("Papermail Digest <digest@papermail.test>"), {"subject": "5 new papers"}),
    (sender("Zoë Ünïcode <digest@papermail.test>", "\"Help, Desk\" <help@papermail.test>"), {"subject": "Új — 日本語のタイトル"}),
    (sender('"Dr. Who" <digest@papermail.test>'), {"subject": "a long ascii subject " * 12}),
    (sender("Papermail <digest@papermail.test>"), {"subject": "ünïcode " * 30, "kind": "confirm", "delivery_id": None}),
    (sender("Papermail <digest@papermail.test>"), {"subject": "x" * 1200, "unsubscribe": None}),
    (sender("Papermail <digest@papermail.test>"), {"subject": "tabs\tand  double  spaces — ok", "text": "", "html": "h"}),
    (sender("Papermail <digest@papermail.test>"), {"unsubscribe": Unsubscribe("https://papermail.test/unsubscribe/" + "A" * 300, "A" * 300)}),
]


@pytest.mark.parametrize("eight_bit", [False, True], ids=["7bit-relay", "8bitmime-relay"])
@pytest.mark.parametrize(("identity", "overrides"), CASES)
def test_direct_bytes_parse_to_what_the_email_message_route_gives(
    identity: SenderIdentity, overrides: dict[str, Any], eight_bit: bool
) -> None:
    fields: dict[str, Any] = {
        "to_address": "alice@example.com",
        "subject": "s",
        "text": TEXT,
        "html": HTML,
        "message_key": "sub-1/2026-11-27",
        "unsubscribe": Unsubscribe("https://papermail.test/unsubscribe/tok.EN-_42", "tok.EN-_42"),
        "delivery_id": 42,
        "date": WHEN,
    }
    fields.update(overrides)
    fast_bytes = Composer(identity, takes_8bit=lambda: eight_bit).compose(**fields).data
    fast, slow = parsed(fast_bytes), parsed(wire_bytes(build_message(identity, **fields)))

    eight = b"Content-Transfer-Encoding: 8bit" in fast_bytes
    # RFC 2045 6.4: the multipart holding an 8bit part is labelled 8bit itself, after Content-Type.
    assert fast.keys() == slow.keys() + (["Content-Transfer-Encoding"] if eight else [])
    assert not eight or fast["Content-Transfer-Encoding"] == "8bit"
    for name in slow:
        if name != "Content-Type":  # differs only in the boundary, checked below
            assert str(fast[name]) == str(slow[name]), name
    assert dict(fast["Content-Type"].params).keys() == {"boundary"}
    assert fast["Content-Type"].params["boundary"].startswith("=_pm.")
    assert fast.get_content_type() == slow.get_content_type() == "multipart/alternative"
    fast_parts, slow_parts = list(fast.iter_parts()), list(slow.iter_parts())
    assert [p.get_content_type() for p in fast_parts] == ["text/plain", "text/html"]
    for ours, theirs in zip(fast_parts, slow_parts, strict=True):
        assert ours.get_content_type() == theirs.get_content_type()
        assert ours.get_content_charset() == "utf-8"
        content = theirs.get_content()
        if ours.get_content_type() == "text/html":  # the same page, non-ASCII as references
            content = html_ascii(content)
        seven = content.isascii() and "\0" not in content
        # 8bit: the text part (the HTML is ASCII by now), when the relay takes it; TEXT's lines are short.
        eight = eight_bit and not seven and "\0" not in content and ours.get_content_type() == "text/plain"
        assert ours["Content-Transfer-Encoding"] == ("7bit" if seven else "8bit" if eight else "quoted-printable")
        if (seven or eight) and ours.get_content_type() == "text/plain":
            assert ours.get_content() == content
        else:  # HTML: an overlong line may have been broken at a space, which HTML reads as one
            assert ours.get_content().split() == content.split()
    assert not fast.defects and all(not p.defects for p in fast_parts)
    head, _, body = fast_bytes.partition(b"\r\n\r\n")
    assert head.isascii() and (fast_bytes.isascii() or eight_bit)
    lines = fast_bytes.split(b"\r\n")
    assert b"\n" not in fast_bytes.replace(b"\r\n", b"") and b"\r" not in fast_bytes.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in lines)


def test_subject_that_looks_like_an_encoded_word_is_kept_verbatim(tmp_path: Path) -> None:
    composer = Composer(sender("Papermail <digest@papermail.test>"))
    subject = "=?utf-8?q?not_decoded?= please"
    data = composer.compose(to_address="a@x.test", subject=subject, text="t", html="h", message_key="k").data
    assert parsed(data)["Subject"] == subject


@pytest.mark.parametrize("value", ["é", "a" * 41 + "é", "日本語" * 40, "🎉 " * 30, "plain then ü", "a" * 40 + "🎉" * 3])
def test_encoded_words_hold_whole_characters_and_stay_short(value: str) -> None:
    words = encoded_words(value)
    assert all(len(word) <= 75 for word in words)
    # each word decodes on its own (RFC 2047 6.3: no character split across words)
    pieces = [binascii.a2b_base64(word[len("=?utf-8?b?") : -2]).decode() for word in words]
    assert "".join(pieces) == value and all(pieces)
    header = text_header("Subject", value)
    assert all(len(line) <= 78 for line in header.split("\r\n"))
    assert parsed(f"{header}\r\n\r\n".encode())["Subject"] == value


def test_ascii_subject_is_folded_at_spaces_and_unfolds_to_itself() -> None:
    value = "one  two " * 20 + "end"
    header = text_header("Subject", value)
    assert "=?" not in header
    assert all(len(line) <= 78 and line.strip() for line in header.split("\r\n"))
    assert header.replace("\r\n", "") == f"Subject: {value}"


def test_qp_body_is_crlf_and_ends_with_a_line_break() -> None:
    body = qp_body("no newline at all " * 10)
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))


@pytest.mark.parametrize("width", range(60, 80))
@pytest.mark.parametrize("tail", [" ", "\t", "  ", "é ", "= "])
def test_qp_lines_stay_within_76_when_trailing_whitespace_is_encoded(width: int, tail: str) -> None:
    text = "a" * width + tail + "\nnext\n"
    body = qp_body(text)
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    message = parsed(b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' + body)
    assert message.get_content() == text.replace("\n", "\r\n")


def _parts(data: bytes) -> list[EmailMessage]:
    return list(parsed(data).iter_parts())  # type: ignore[arg-type]


def _compose(**overrides: Any) -> bytes:
    fields: dict[str, Any] = {
        "to_address": "alice@example.com", "subject": "s", "text": "Hello\n", "html": "<p>Hello</p>",
        "message_key": "k", "date": WHEN,
    }  # fmt: skip
    fields.update(overrides)
    return Composer(sender("Papermail <digest@papermail.test>")).compose(**fields).data


def test_ascii_bodies_go_out_as_7bit_and_html_becomes_ascii_with_character_references() -> None:
    text, html = _parts(_compose(text="plain ascii\n", html="<p>Zoë ▲ 3 — 🎉</p>"))
    assert text["Content-Transfer-Encoding"] == html["Content-Transfer-Encoding"] == "7bit"
    assert html.get_content() == "<p>Zo&#235; &#9650; 3 &#8212; &#127881;</p>\r\n"
    assert text.get_content() == "plain ascii\r\n"


def test_non_ascii_text_part_stays_quoted_printable() -> None:
    text, _ = _parts(_compose(text="▲ 12 · Agents\n"))
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert text.get_content() == "▲ 12 · Agents\r\n"


def test_an_overlong_html_line_is_broken_at_a_space_and_one_without_spaces_is_quoted_printable() -> None:
    words = "<p>" + "lien " * 400 + "</p>"
    data = _compose(html=words)
    (_, html) = _parts(data)
    assert html["Content-Transfer-Encoding"] == "7bit"
    assert html.get_content().split() == words.split()
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    (_, solid) = _parts(_compose(html="<p>" + "x" * 1200 + "</p>"))
    assert solid["Content-Transfer-Encoding"] == "quoted-printable"
    assert solid.get_content() == "<p>" + "x" * 1200 + "</p>\r\n"


def test_7bit_is_refused_for_nul_overlong_plain_text_and_a_body_holding_the_boundary() -> None:
    assert unencoded("a\x00b", html=True) is None
    assert unencoded("x" * 999, html=False) is None
    assert unencoded("x " * 600, html=False) is None  # plain text is never re-broken
    assert unencoded("x" * 998, html=False) == (b"x" * 998 + b"\r\n", "7bit")
    assert fold_at_spaces("a " * 10, limit=6) == "a a a\na a a\na a a\na "
    # A body that contains the boundary (it is derived from the Message-ID) falls back to QP.
    probe = Composer(sender("Papermail <digest@papermail.test>")).compose(
        to_address="alice@example.com", subject="s", text="t", html="h", message_key="k", date=WHEN
    ).data  # fmt: skip
    boundary = parsed(probe)["Content-Type"].params["boundary"]
    (text, _) = _parts(_compose(text=f"--{boundary}\n"))
    assert text["Content-Transfer-Encoding"] == "quoted-printable" and text.get_content() == f"--{boundary}\r\n"


def test_qp_body_copies_plain_lines_and_encodes_the_rest_exactly() -> None:
    import quopri
    import random

    rng = random.Random(7)
    alphabet = ["a", "b", " ", "=", "\t", ".", "é", "▲", "\x00", "\x7f", "x" * 20, "From "]
    for _ in range(300):
        lines = ["".join(rng.choices(alphabet, k=rng.randint(0, 40))) for _ in range(rng.randint(1, 6))]
        lines += ["y" * 76, "y" * 77, "z" * 75 + " ", "w" * 74 + "\t"]
        text = "\n".join(rng.sample(lines, len(lines))) + rng.choice(["", "\n"])
        body = qp_body(text)
        assert body.endswith(b"\r\n") and all(len(line) <= 76 for line in body.split(b"\r\n"))
        expected = text if text.endswith("\n") else text + "\n"
        assert quopri.decodestring(body.replace(b"\r\n", b"\n")).decode() == expected
    assert qp_body("plain line\nA=B\n") == b"plain line\r\nA=3DB\r\n"  # the first copied as it is


def _compose_8bit(**overrides: Any) -> bytes:
    fields: dict[str, Any] = {"to_address": "alice@example.com", "subject": "s", "text": "Hello\n",
                              "html": "<p>Hello</p>", "message_key": "k", "date": WHEN}  # fmt: skip
    fields.update(overrides)
    return Composer(sender("Papermail <digest@papermail.test>"), takes_8bit=lambda: True).compose(**fields).data


def test_non_ascii_text_goes_as_8bit_utf8_when_the_relay_takes_it_and_the_html_stays_7bit() -> None:
    data = _compose_8bit(text="▲ 12 · Agents\n👍 More like this\n", html="<p>Zoë ▲</p>")
    text, html = _parts(data)
    assert text["Content-Transfer-Encoding"] == "8bit" and html["Content-Transfer-Encoding"] == "7bit"
    assert parsed(data)["Content-Transfer-Encoding"] == "8bit"  # the multipart: it holds 8bit data
    assert text.get_content() == "▲ 12 · Agents\r\n👍 More like this\r\n"
    assert "▲ 12 · Agents\r\n👍".encode() in data  # UTF-8 as it is, no transfer encoding
    assert html.get_content() == "<p>Zo&#235; &#9650;</p>\r\n"
    head, _, _ = data.partition(b"\r\n\r\n")
    assert head.isascii() and b"\n" not in data.replace(b"\r\n", b"")
    # ASCII text is 7bit whatever the relay takes
    ascii_only = _compose_8bit(text="plain\n")
    (plain, _) = _parts(ascii_only)
    assert plain["Content-Transfer-Encoding"] == "7bit" and "Content-Transfer-Encoding" not in parsed(ascii_only)


def test_8bit_lines_are_counted_in_octets_and_a_nul_or_an_overlong_line_falls_back_to_qp() -> None:
    assert unencoded("é" * 499, html=False, eight_bit=True) == (("é" * 499 + "\r\n").encode(), "8bit")  # 998 octets
    assert unencoded("é" * 500, html=False, eight_bit=True) is None  # 500 characters but 1000 octets
    assert unencoded("é\x00", html=False, eight_bit=True) is None
    assert unencoded("é", html=False, eight_bit=False) is None
    (text, _) = _parts(_compose_8bit(text="é" * 500 + "\n"))
    assert text["Content-Transfer-Encoding"] == "quoted-printable" and text.get_content() == "é" * 500 + "\r\n"


def test_long_lines_are_found_by_octets_as_a_split_finds_them() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        lines = ["x" * rng.choice([0, 1, 5, 9, 10, 11, 12, 30]) for _ in range(rng.randint(0, 8))]
        data = "\n".join(lines).encode() + rng.choice([b"", b"\n"])
        assert has_long_line(data, limit=10) == (max(map(len, data.split(b"\n"))) > 10), data
