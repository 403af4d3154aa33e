from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import idna
import pytest

from service.mail import Composer, MessageError, SenderIdentity, Unsubscribe, make_message_id, wire_bytes
from service.mail.message import message_id_of, parse_sender
from tests.conftest import make_settings
from tests.service.mail.email_message import build_message

TOKEN = "tok.EN-_42"
UNSUB = f"https://papermail.test/unsubscribe/{TOKEN}"
WHEN = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def parsed(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def digest(composer: Composer, **overrides: Any) -> bytes:
    fields: dict[str, Any] = {
        "to_address": "alice@example.com",
        "subject": "5 new papers on quantization, agents — Nov 27",
        "text": "Hello Alice\n\n1. Paper one\n",
        "html": "<p>Hello Alice</p><ol><li>Paper one</li></ol>",
        "message_key": "sub-1/2026-11-27",
        "unsubscribe": Unsubscribe(UNSUB, TOKEN),
        "delivery_id": 42,
        "date": WHEN,
    }
    fields.update(overrides)
    return composer.compose(**fields).data


def test_digest_has_every_bulk_sender_header(composer: Composer) -> None:
    message = parsed(digest(composer))

    assert message["From"].addresses[0].display_name == "Papermail Digest"
    assert message["From"].addresses[0].addr_spec == "digest@papermail.test"
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "5 new papers on quantization, agents — Nov 27"
    assert message["Date"].datetime == WHEN
    assert message["Message-ID"].startswith("<digest.42.") and message["Message-ID"].endswith("@papermail.test>")
    assert message["List-Id"] == "papermail digest <digest.papermail.test>"
    assert message["Feedback-ID"] == "digest:digests:papermail:papermail.test"
    assert message["List-Unsubscribe"] == (
        f"<{UNSUB}>, <mailto:unsubscribe@papermail.test?subject=unsubscribe-tok.EN-_42>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Papermail-Delivery"] == "42"
    assert "Reply-To" not in message


def test_body_is_text_then_html_alternative(composer: Composer) -> None:
    message = parsed(digest(composer, text="Bonjour é\r\nligne 2\n", html="<p>Bonjour é</p>"))

    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    # Parsed back from the wire every line ends in CRLF, whatever mix the input had.
    assert parts[0].get_content() == "Bonjour é\r\nligne 2\r\n"
    assert parts[1].get_content() == "<p>Bonjour &#233;</p>\r\n"  # the same page, in ASCII
    assert [p["Content-Transfer-Encoding"] for p in parts] == ["quoted-printable", "7bit"]


def test_wire_bytes_are_seven_bit_with_crlf_and_encoded_non_ascii_headers(tmp_path: Path) -> None:
    composer = Composer.from_settings(make_settings(tmp_path, mail_from="Zoë Ünïcode <digest@papermail.test>"))
    data = digest(composer, subject="Új cikkek — 日本語のタイトル", html="<p>" + "é" * 3000 + "</p>")

    assert data.isascii()  # no 8bit: a relay cannot rewrite it under a DKIM signature
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert b"=?utf-8?" in data  # RFC 2047 encoded-words for subject and display name
    message = parsed(data)
    assert message["Subject"] == "Új cikkek — 日本語のタイトル"
    assert message["From"].addresses[0].display_name == "Zoë Ünïcode"


def test_long_list_unsubscribe_is_folded_between_uris_never_encoded(composer: Composer) -> None:
    token = "A" * 300
    data = digest(composer, unsubscribe=Unsubscribe(f"https://papermail.test/unsubscribe/{token}", token))

    header = data.split(b"\r\nList-Unsubscribe: ", 1)[1].split(b"\r\nList-Unsubscribe-Post", 1)[0]
    assert b"=?" not in header
    assert header == (
        f"<https://papermail.test/unsubscribe/{token}>,\r\n"
        f" <mailto:unsubscribe@papermail.test?subject=unsubscribe-{token}>".encode()
    )


def test_message_id_is_deterministic_per_key(composer: Composer) -> None:
    first = parsed(digest(composer, message_key="sub-1/2026-11-27"))["Message-ID"]
    again = parsed(digest(composer, message_key="sub-1/2026-11-27", date=WHEN + timedelta(hours=1)))["Message-ID"]
    other = parsed(digest(composer, message_key="sub-1/2026-11-28"))["Message-ID"]

    assert first == again
    assert first != other
    assert make_message_id("k", "papermail.test") == make_message_id("k", "papermail.test")
    assert make_message_id("k", "papermail.test", kind="confirm") != make_message_id("k", "papermail.test")


def test_reply_to_from_settings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mail_reply_to="Help Desk <help@papermail.test>")
    message = parsed(digest(Composer.from_settings(settings)))
    assert message["Reply-To"].addresses[0].addr_spec == "help@papermail.test"


def test_transactional_mail_has_no_list_headers(composer: Composer) -> None:
    message = parsed(digest(composer, unsubscribe=None, kind="confirm", delivery_id=None))
    for name in ("List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "X-Papermail-Delivery"):
        assert name not in message
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].startswith("<confirm.")
    assert message["Feedback-ID"] == "confirm:transactional:papermail:papermail.test"


def test_token_is_percent_encoded_in_the_mailto(composer: Composer) -> None:
    message = parsed(digest(composer, unsubscribe=Unsubscribe(UNSUB, "a b&c")))
    assert "?subject=unsubscribe-a%20b%26c>" in message["List-Unsubscribe"]


def test_the_mailto_carries_the_token_given_not_one_read_from_the_url(composer: Composer) -> None:
    message = parsed(digest(composer, unsubscribe=Unsubscribe(UNSUB, "other-token")))
    assert message["List-Unsubscribe"] == (
        f"<{UNSUB}>, <mailto:unsubscribe@papermail.test?subject=unsubscribe-other-token>"
    )


@pytest.mark.parametrize("token", ["", "  ", "tok\r\nBcc: x@example.com"])
def test_empty_or_unsafe_unsubscribe_token_is_refused(composer: Composer, token: str) -> None:
    with pytest.raises(MessageError, match="unsubscribe token"):
        digest(composer, unsubscribe=Unsubscribe(UNSUB, token))


def test_trailing_newline_of_a_template_subject_is_stripped(composer: Composer) -> None:
    assert parsed(digest(composer, subject="  Papers for you\n"))["Subject"] == "Papers for you"


@pytest.mark.parametrize(
    "subject",
    [
        "Papers\r\nBcc: victim@example.com",
        "Papers\nBcc: victim@example.com",
        "Papers\rBcc: victim@example.com",
        "Papers\u2028Bcc: victim@example.com",
        "Papers\x85Bcc: victim@example.com",
        "Papers\x00",
    ],
)
def test_line_breaks_in_the_subject_are_refused(composer: Composer, subject: str) -> None:
    with pytest.raises(MessageError, match="subject contains a line break"):
        digest(composer, subject=subject)


@pytest.mark.parametrize(
    "address",
    [
        "alice@example.com\r\nBcc: victim@example.com",
        "alice@example.com\nBcc: victim@example.com",
        "alice@example.com, victim@example.com",
        "Alice <alice@example.com>",
    ],
)
def test_injection_through_the_recipient_is_refused(composer: Composer, address: str) -> None:
    with pytest.raises(MessageError):
        digest(composer, to_address=address)


@pytest.mark.parametrize("address", ["not-an-address", "alice@", "@example.com", "alice@localhost", "ålice@example.com"])
def test_invalid_recipient_gets_a_clear_error(composer: Composer, address: str) -> None:
    with pytest.raises(MessageError, match="invalid recipient address"):
        digest(composer, to_address=address)


def test_recipient_is_normalised(composer: Composer) -> None:
    assert parsed(digest(composer, to_address="  alice@EXAMPLE.com "))["To"] == "alice@example.com"
    assert parsed(digest(composer, to_address="bob@bücher.example"))["To"] == "bob@xn--bcher-kva.example"


def test_test_domains_are_refused_in_production(tmp_path: Path) -> None:
    sender = SenderIdentity.from_settings(make_settings(tmp_path, environment="production"))
    with pytest.raises(MessageError, match="invalid recipient address"):
        build_message(sender, to_address="a@x.test", subject="s", text="t", html="h", message_key="k")
    testing = SenderIdentity.from_settings(make_settings(tmp_path, environment="test"))
    assert build_message(testing, to_address="a@x.test", subject="s", text="t", html="h", message_key="k")["To"] == "a@x.test"


@pytest.mark.parametrize(
    "url",
    [
        "https://papermail.test/unsubscribe/a>, <https://evil.example/",
        "https://papermail.test/unsubscribe/a,b",
        "javascript:alert(1)",
        "/unsubscribe/relative",
        "https://papermail.test/unsubscribe/tok\r\nBcc: x@example.com",
        "https://papermail.test/" + "a" * 1000,
    ],
)
def test_unsafe_unsubscribe_urls_are_refused(composer: Composer, url: str) -> None:
    with pytest.raises(MessageError):
        digest(composer, unsubscribe=Unsubscribe(url, "tok"))


def test_naive_date_and_bad_kind_are_refused(composer: Composer) -> None:
    with pytest.raises(MessageError, match="timezone-aware"):
        digest(composer, date=datetime(2026, 11, 27, 8, 0))
    with pytest.raises(MessageError, match="kind"):
        digest(composer, kind="Digest\r\nX: y")


def test_date_is_written_in_utc(composer: Composer) -> None:
    paris = datetime(2026, 11, 27, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    assert parsed(digest(composer, date=paris))["Date"].datetime == WHEN


@pytest.mark.parametrize("value", ["not an address", "digest@localhost-without-dot", "Bad\r\nX: y <a@b.example>", ""])
def test_bad_sender_setting_names_the_setting(value: str) -> None:
    with pytest.raises(MessageError, match="PAPERMAIL_MAIL_FROM"):
        parse_sender(value, "PAPERMAIL_MAIL_FROM")


def test_build_message_then_wire_bytes_round_trips(composer: Composer) -> None:
    message = build_message(
        composer.sender,
        to_address="carol@example.org",
        subject="Hi",
        text="t",
        html="<b>h</b>",
        message_key="k",
        unsubscribe=Unsubscribe(UNSUB, TOKEN),
    )
    assert parsed(wire_bytes(message))["Message-ID"] == message["Message-ID"]


@pytest.mark.parametrize(("data", "expected"), [
    (b"From: a@b.example\r\nMessage-ID: <1@papermail.test>\r\n\r\nbody", "<1@papermail.test>"),
    (b"message-id:\r\n <folded@papermail.test>\r\nSubject: x\r\n\r\n", "<folded@papermail.test>"),
    (b"X-Message-ID: <not-this@x>\r\nSubject: x\r\n\r\nMessage-ID: <in-the-body@x>\r\n", None),
    (b"Subject: no id\n\nMessage-ID: <in-the-body@x>\n", None),
    (b"Message-ID:   \r\n\r\n", None),
])
def test_message_id_is_read_from_the_header_block_only(data: bytes, expected: str | None) -> None:
    assert message_id_of(data) == expected


def test_message_id_of_composed_bytes_is_the_one_composed(composer: Composer) -> None:
    mail = composer.compose(to_address="ann@example.org", subject="s", text="t", html="<p>h</p>", message_key="k",
                            unsubscribe=Unsubscribe("https://papermail.test/unsubscribe/tok", "tok"))
    assert message_id_of(mail.data) == mail.message_id == email.message_from_bytes(mail.data)["Message-ID"]


def test_account_mail_is_a_stream_of_its_own(composer: Composer) -> None:
    # Welcome, "already subscribed" and new-links mails carry an unsubscribe link, hence list
    # headers, but on the transactional stream: providers judge them apart from the digests.
    for kind in ("welcome", "already", "links"):
        message = parsed(digest(composer, kind=kind, delivery_id=None))
        assert message["List-Id"] == "papermail transactional <transactional.papermail.test>"
        assert message["Feedback-ID"] == f"{kind}:transactional:papermail:papermail.test"
    assert parsed(digest(composer))["Feedback-ID"].split(":")[:2] == ["digest", "digests"]


def _reference(address: str, allow_test_domains: bool) -> str:
    """validate_recipient as it was before its fast path: validate_email on every address."""
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(address, check_deliverability=False, allow_smtputf8=False,
                                test_environment=allow_test_domains)  # fmt: skip
    except EmailNotValidError as exc:
        raise MessageError(str(exc)) from None
    return result.ascii_email or result.normalized


LOCALS = ["alice", "Alice.Smith", "a+tag", "o'neil", "x_y-z", "a.b.c", "a..b", ".a", "a.", "", "zoë", "a b",
          '"quoted"', "Postmaster", "INFO", "webmaster", "w" * 64, "w" * 65, "a@b", "!#$%&*/=?^`{|}~", "<a"]
DOMAINS = ["example.com", "Example.COM", "sub.example.org", "bücher.de", "xn--bcher-kva.de", "xn--zz.de",
           "localhost", "papermail.test", "host.local", "x.onion", "y.invalid", "1.2.3.4", "[127.0.0.1]",
           "a-.com", "-a.com", "ab--cd.com", "exa_mple.com", "example", "example.com.", "", "example.123",
           "l" * 63 + ".com", "l" * 64 + ".com", ".".join(["d" * 60] * 4) + ".com", "ex ample.com", "ex>ample.com",
           "ＥＸＡＭＰＬＥ.com", "e\u0301xample.com", "example.com\u200b"]


@pytest.mark.parametrize("allow_test_domains", [False, True])
def test_the_recipient_fast_path_gives_validate_emails_verdict(allow_test_domains: bool) -> None:
    from service.mail.message import _checked_domain, validate_recipient

    _checked_domain.cache_clear()
    long_local = "l" * (254 - len("@example.com"))
    cases = [f"{local}@{domain}" for local in LOCALS for domain in DOMAINS]
    wide = "日" * 50 + ".jp"  # its UTF-8 form is longer than its IDNA one: the length limit counts both
    cases += [long_local + "@example.com", long_local + "x@example.com", "a@b@example.com", "nobody", "@example.com",
              "a" * (254 - len(wide.encode())) + "@" + wide, "a" * (253 - len(wide.encode())) + "@" + wide,
              # its IDNA form given: normalised back to the wider Unicode one, which must fit too
              "a" * (254 - len(wide.encode())) + "@" + idna.encode(wide).decode(),
              "a" * (253 - len(wide.encode())) + "@" + idna.encode(wide).decode(),
              "a@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 63 + "." + "g" * 57 + ".com"]
    for address in cases * 2:  # the second time round, every domain's verdict comes from the cache
        try:
            expected: str | Exception = _reference(address, allow_test_domains)
        except MessageError as exc:
            expected = exc
        try:
            got: str | Exception = validate_recipient(address, allow_test_domains=allow_test_domains)
        except MessageError as exc:
            got = exc
        if isinstance(expected, Exception):
            assert isinstance(got, MessageError), (address, got)
        else:
            assert got == expected, address
    assert _checked_domain.cache_info().hits > 0
