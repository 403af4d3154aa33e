from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest

from config.settings import Settings
from service.mail import Composer, DkimKeyError, DkimSigner, OutgoingMail, build_message, wire_bytes
from tests.conftest import make_settings
from tests.support.dkim import SELECTOR, SENDER_DOMAIN, DkimKey


def signed_digest(settings: Settings) -> OutgoingMail:
    return Composer.from_settings(settings).compose(
        to_address="alice@example.com",
        subject="3 new papers on agents — Nov 27",
        text="Three papers.\n",
        html="<p>Three papers.</p>",
        message_key="sub-1/2026-11-27",
        unsubscribe_url="https://papermail.test/unsubscribe/tok42",
        delivery_id=7,
        date=datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
    )


def signature_tags(data: bytes) -> dict[str, str]:
    header = data.split(b"\r\n", 1)[0]
    assert header.startswith(b"DKIM-Signature:")
    field = re.match(rb"DKIM-Signature:(.*?)\r\n(?![ \t])", data, re.S)
    assert field is not None
    unfolded = re.sub(r"\s+", "", field.group(1).decode())
    return dict(tag.split("=", 1) for tag in unfolded.split(";") if tag)


def test_signature_verifies_and_covers_the_unsubscribe_headers(dkim_settings: Settings, dkim_key: DkimKey) -> None:
    mail = signed_digest(dkim_settings)

    assert dkim.verify(mail.data, dnsfunc=dkim_key.dnsfunc())
    tags = signature_tags(mail.data)
    signed = tags["h"].split(":")
    for name in ("from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post"):
        assert name in signed
    assert (tags["a"], tags["c"], tags["d"], tags["s"]) == ("rsa-sha256", "relaxed/relaxed", SENDER_DOMAIN, SELECTOR)


def test_the_signed_bytes_are_the_serialised_message_plus_one_header(dkim_settings: Settings) -> None:
    composer = Composer.from_settings(dkim_settings)
    assert composer.signer is not None
    message = build_message(
        composer.sender, to_address="a@example.com", subject="s", text="t", html="h", message_key="k"
    )
    plain = wire_bytes(message)
    signed = wire_bytes(message, composer.signer)

    assert signed.endswith(plain)
    prefix = signed[: -len(plain)]
    assert re.fullmatch(rb"DKIM-Signature: [^\r\n]*(\r\n[ \t][^\r\n]*)*\r\n", prefix)


@pytest.mark.parametrize(
    ("find", "replace"),
    [
        (b"unsubscribe/tok42>", b"unsubscribe/evil>"),
        (b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: nothing"),
        (b"Three papers.", b"Four papers.!"),
    ],
)
def test_tampering_breaks_the_signature(dkim_settings: Settings, dkim_key: DkimKey, find: bytes, replace: bytes) -> None:
    data = signed_digest(dkim_settings).data
    assert find in data
    assert not dkim.verify(data.replace(find, replace, 1), dnsfunc=dkim_key.dnsfunc())


def test_a_second_list_unsubscribe_added_later_breaks_the_signature(dkim_settings: Settings, dkim_key: DkimKey) -> None:
    data = signed_digest(dkim_settings).data
    head, body = data.split(b"\r\n\r\n", 1)
    forged = head + b"\r\nList-Unsubscribe: <https://evil.example/u>\r\n\r\n" + body
    assert not dkim.verify(forged, dnsfunc=dkim_key.dnsfunc())


def test_no_signer_without_dkim_settings(mail_settings: Settings) -> None:
    assert DkimSigner.from_settings(mail_settings) is None
    assert not signed_digest(mail_settings).data.startswith(b"DKIM-Signature")


def test_unreadable_or_bad_key_is_a_clear_error(tmp_path: Path) -> None:
    missing = make_settings(
        tmp_path, dkim_domain="papermail.test", dkim_selector="s", dkim_private_key_path=tmp_path / "nope.pem"
    )
    with pytest.raises(DkimKeyError, match="cannot read PAPERMAIL_DKIM_PRIVATE_KEY_PATH"):
        Composer.from_settings(missing)

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    bad = make_settings(tmp_path, dkim_domain="papermail.test", dkim_selector="s", dkim_private_key_path=garbage)
    with pytest.raises(DkimKeyError, match="not a PEM RSA private key"):
        Composer.from_settings(bad)
