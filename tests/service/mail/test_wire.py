"""The Composer's direct writer against the EmailMessage route: same content once parsed back."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from service.mail import Composer, SenderIdentity, Unsubscribe, wire_bytes
from service.mail.message import parse_sender
from service.mail.wire import encoded_words, qp_body, text_header
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


@pytest.mark.parametrize(("identity", "overrides"), CASES)
def test_direct_bytes_parse_to_what_the_email_message_route_gives(
    identity: SenderIdentity, overrides: dict[str, Any]
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
    fast_bytes = Composer(identity).compose(**fields).data
    fast, slow = parsed(fast_bytes), parsed(wire_bytes(build_message(identity, **fields)))

    assert fast.keys() == slow.keys()
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
        assert ours["Content-Transfer-Encoding"] == "quoted-printable"
        assert ours.get_content() == theirs.get_content()
    assert not fast.defects and all(not p.defects for p in fast_parts)
    assert fast_bytes.isascii()
    lines = fast_bytes.split(b"\r\n")
    assert b"\n" not in fast_bytes.replace(b"\r\n", b"") and b"\r" not in fast_bytes.replace(b"\r\n", b"")
    body_lines = lines[lines.index(b"") :]
    assert all(len(line) <= 76 for line in body_lines)
    assert all(len(line) <= 998 for line in lines)


def test_subject_that_looks_like_an_encoded_word_is_kept_verbatim(tmp_path: Path) -> None:
    composer = Composer(sender("Papermail <digest@papermail.test>"))
    subject = "=?utf-8?q?not_decoded?= please"
    data = composer.compose(to_address="a@x.test", subject=subject, text="t", html="h", message_key="k").data
    assert parsed(data)["Subject"] == subject


@pytest.mark.parametrize("value", ["é", "a" * 41 + "é", "日本語" * 40, "🎉 " * 30, "plain then ü"])
def test_encoded_words_hold_whole_characters_and_stay_short(value: str) -> None:
    words = encoded_words(value)
    assert all(len(word) <= 75 for word in words)
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
