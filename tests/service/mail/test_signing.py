"""The signer's own pieces, checked against dkimpy (a verifier and the reference canonicaliser).

The independent verifiers (Mail::DKIM, OpenDKIM) on received mail are in test_dkim_verifier.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from dkim.canonicalization import Relaxed, Simple
from pydantic import ValidationError

from config.settings import Settings
from service.mail import Composer, DkimKeyError, DkimSigner, OutgoingMail, wire_bytes
from service.mail.dkim_canon import relaxed_field, signed_headers_input, simple_body_hash, split_message
from service.mail.message import Unsubscribe
from service.mail.signing import SIGNED_HEADERS, signed_header_names
from tests.conftest import make_settings
from tests.service.mail.email_message import build_message
from tests.support.dkim import ED25519_SELECTOR, SELECTOR, SENDER_DOMAIN, DkimKey, make_ed25519_key

# Header blocks a relaxed canonicaliser must get right: folds, tabs, runs of spaces,
# trailing white space, upper case, colons in a value, an empty value.
HOSTILE_HEADS = [
    b"From: a@b.test\r\nSubject: plain\r\n",
    b"Subject:  lots   of\t\tspace  \r\n\t folded  \r\n  again\r\nTo:x@y.test\r\n",
    b"X-Empty:\r\nX-Spaces:    \r\nSUBJECT: Upper-case name\r\n",
    b"X-Tab:\tvalue\t\r\nX-Colons: a:b: c\r\n",
    b"List-Unsubscribe: <https://a.test/u/1>,\r\n <mailto:u@a.test?subject=u-1>\r\n",
]


def signed_digest(settings: Settings) -> OutgoingMail:
    return Composer.from_settings(settings).compose(
        to_address="alice@example.com",
        subject="3 new papers on agents — Nov 27",
        text="Three papers.\n",
        html="<p>Three papers.</p>",
        message_key="sub-1/2026-11-27",
        unsubscribe=Unsubscribe("https://papermail.test/unsubscribe/tok42", "tok42"),
        delivery_id=7,
        date=datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
    )


def signature_fields(data: bytes) -> list[bytes]:
    return re.findall(rb"^DKIM-Signature:.*?\r\n(?![ \t])", data, re.S | re.M)


def signature_tags(field: bytes) -> dict[str, str]:
    unfolded = re.sub(r"\s+", "", field.split(b":", 1)[1].decode())
    return dict(tag.split("=", 1) for tag in unfolded.split(";") if tag)


def test_signature_verifies_and_covers_the_unsubscribe_headers(dkim_settings: Settings, dkim_key: DkimKey) -> None:
    mail = signed_digest(dkim_settings)

    assert dkim.verify(mail.data, dnsfunc=dkim_key.dnsfunc())
    [field] = signature_fields(mail.data)
    tags = signature_tags(field)
    assert (tags["a"], tags["c"], tags["d"], tags["s"]) == ("rsa-sha256", "relaxed/simple", SENDER_DOMAIN, SELECTOR)
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "to", "subject", "date"} <= set(tags["h"].split(":"))


def test_every_field_is_signed_once_more_than_it_occurs(dkim_settings: Settings) -> None:
    data = signed_digest(dkim_settings).data
    listed = Counter(signature_tags(signature_fields(data)[0])["h"].split(":"))
    fields, _ = split_message(data)
    present = Counter(name.lower().decode() for name, _ in fields if name.lower() != b"dkim-signature")

    assert {name: listed[name] for name in present} == {name: n + 1 for name, n in present.items()}
    absent = {name.decode() for name in SIGNED_HEADERS} - set(present)
    assert {name: listed[name] for name in absent} == dict.fromkeys(absent, 1)
    assert "dkim-signature" not in listed and set(listed) == set(present) | absent


def test_relay_fields_are_left_out_of_h_and_repeated_fields_counted() -> None:
    names = (b"Received", b"Received", b"From", b"To", b"Cc", b"Cc", b"X-Custom", b"Return-Path")
    listed = Counter(signed_header_names(names))
    assert "received" not in {n.decode() for n in listed} and b"return-path" not in listed
    assert (listed[b"from"], listed[b"cc"], listed[b"x-custom"], listed[b"date"]) == (2, 3, 2, 1)


def test_a_second_list_unsubscribe_added_later_breaks_the_signature(dkim_settings: Settings, dkim_key: DkimKey) -> None:
    data = signed_digest(dkim_settings).data
    head, body = data.split(b"\r\n\r\n", 1)
    forged = head + b"\r\nList-Unsubscribe: <https://evil.example/u>\r\n\r\n" + body
    assert not dkim.verify(forged, dnsfunc=dkim_key.dnsfunc())
    assert not dkim.verify(data.replace(b"Three papers.", b"Four papers.!", 1), dnsfunc=dkim_key.dnsfunc())


def test_the_signed_bytes_are_the_serialised_message_plus_one_field(dkim_settings: Settings) -> None:
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
    assert max(len(line) for line in prefix.split(b"\r\n")) <= 78


def test_rsa_signatures_are_reproducible_at_a_given_time(dkim_settings: Settings, mail_settings: Settings) -> None:
    signer = DkimSigner.from_settings(dkim_settings)
    assert signer is not None
    data = signed_digest(mail_settings).data
    first = signer.signature_header(data, timestamp=1_800_000_000)
    assert first == signer.signature_header(data, timestamp=1_800_000_000)
    assert signature_tags(first)["t"] == "1800000000"
    assert first != signer.signature_header(data, timestamp=1_800_000_001)


def test_with_an_ed25519_key_both_signatures_are_added_rsa_first(tmp_path: Path, dkim_key: DkimKey) -> None:
    ed25519 = make_ed25519_key(tmp_path)
    settings = make_settings(
        tmp_path / "var", mail_from="Papermail Digest <digest@papermail.test>", base_url="https://papermail.test",
        dkim_domain=SENDER_DOMAIN, dkim_selector=SELECTOR, dkim_private_key_path=dkim_key.private_key_path,
        dkim_ed25519_selector=ED25519_SELECTOR, dkim_ed25519_private_key_path=ed25519.private_key_path,
    )  # fmt: skip
    data = signed_digest(settings).data

    tags = [signature_tags(field) for field in signature_fields(data)]
    assert [(t["a"], t["s"]) for t in tags] == [("rsa-sha256", SELECTOR), ("ed25519-sha256", ED25519_SELECTOR)]
    assert tags[0]["bh"] == tags[1]["bh"] and tags[0]["h"] == tags[1]["h"]
    assert dkim.verify(data, dnsfunc=dkim_key.dnsfunc())  # dkimpy checks the topmost, the RSA one


@pytest.mark.parametrize("head", HOSTILE_HEADS)
def test_header_parsing_and_relaxed_canonicalisation_match_dkimpy(head: bytes) -> None:
    fields, body = split_message(head + b"\r\nbody\r\n")
    reference = dkim.rfc822_parse(head + b"\r\nbody\r\n")[0]

    assert [list(f) for f in fields] == reference and body == b"body\r\n"
    expected = [name + b":" + value for name, value in Relaxed.canonicalize_headers(reference)]
    assert [relaxed_field(name, value) + b"\r\n" for name, value in fields] == expected


@pytest.mark.parametrize("head", HOSTILE_HEADS)
def test_the_signed_header_input_is_dkimpys_selection_of_relaxed_fields(head: bytes) -> None:
    fields, _ = split_message(head + b"\r\nbody\r\n")
    names = signed_header_names(tuple(name for name, _ in fields))
    reference = dkim.select_headers(Relaxed.canonicalize_headers(dkim.rfc822_parse(head + b"\r\nbody\r\n")[0]), names)
    assert signed_headers_input(fields, names) == b"".join(name + b":" + value for name, value in reference)


@pytest.mark.parametrize("head", [b"X-Bare: one\n two\r\n", b"X-Cr: one\r two\r\n", b"From: a@b.test\nTo: c@d\r\n"])
def test_a_header_line_not_ending_in_crlf_is_refused_not_left_unsigned(head: bytes) -> None:
    with pytest.raises(ValueError, match="does not end in CRLF"):
        split_message(head + b"\r\nbody\r\n")


@pytest.mark.parametrize("body", [b"", b"\r\n", b"text\r\n", b"text\r\n\r\n\r\n", b"text", b" lead  \r\n\r\nend \r\n"])
def test_simple_body_hash_matches_dkimpy(body: bytes) -> None:
    assert simple_body_hash(body) == base64.b64encode(hashlib.sha256(Simple.canonicalize_body(body)).digest())


def test_no_signer_without_dkim_settings(mail_settings: Settings) -> None:
    assert DkimSigner.from_settings(mail_settings) is None
    assert not signed_digest(mail_settings).data.startswith(b"DKIM-Signature")


def test_unreadable_or_bad_key_is_a_clear_error(tmp_path: Path) -> None:
    def settings_with(path: Path) -> Settings:
        return make_settings(tmp_path, dkim_domain="papermail.test", dkim_selector="s", dkim_private_key_path=path)

    with pytest.raises(DkimKeyError, match="cannot read PAPERMAIL_DKIM_PRIVATE_KEY_PATH"):
        Composer.from_settings(settings_with(tmp_path / "nope.pem"))

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    with pytest.raises(DkimKeyError, match="garbage.pem is not a PEM RSA or Ed25519 private key$"):
        Composer.from_settings(settings_with(garbage))

    pem, pkcs8 = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    ec_key = tmp_path / "ec.pem"
    ec_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(pem, pkcs8, serialization.NoEncryption()))
    with pytest.raises(DkimKeyError, match="RSA or Ed25519 keys only"):
        Composer.from_settings(settings_with(ec_key))

    encrypted = tmp_path / "encrypted.pem"
    locked = serialization.BestAvailableEncryption(b"pw")
    encrypted.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(pem, pkcs8, locked))
    with pytest.raises(DkimKeyError, match="is encrypted"):
        Composer.from_settings(settings_with(encrypted))


def test_ed25519_settings_need_the_rsa_key_and_their_own_selector(tmp_path: Path, dkim_key: DkimKey) -> None:
    rsa = {"dkim_domain": SENDER_DOMAIN, "dkim_selector": SELECTOR, "dkim_private_key_path": dkim_key.private_key_path}
    ed25519 = {"dkim_ed25519_selector": ED25519_SELECTOR, "dkim_ed25519_private_key_path": tmp_path / "ed.pem"}
    with pytest.raises(ValidationError, match="beside the RSA key"):
        make_settings(tmp_path, **ed25519)
    with pytest.raises(ValidationError, match="go together"):
        make_settings(tmp_path, **rsa, dkim_ed25519_selector=ED25519_SELECTOR)
    with pytest.raises(ValidationError, match="must differ"):
        make_settings(tmp_path, **rsa, **{**ed25519, "dkim_ed25519_selector": SELECTOR})


def test_short_rsa_keys_and_names_dns_cannot_hold_are_refused_at_startup(tmp_path: Path, dkim_key: DkimKey) -> None:
    short = tmp_path / "short.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(short), "768"], check=True, capture_output=True)
    with pytest.raises(DkimKeyError, match="768-bit RSA key; DKIM needs at least 1024"):
        Composer.from_settings(
            make_settings(tmp_path, dkim_domain=SENDER_DOMAIN, dkim_selector="s", dkim_private_key_path=short)
        )

    for domain, selector in (("papermail.test", "s;x=1"), ("bücher.test", "s"), ("papermail.test", "-s")):
        settings = make_settings(
            tmp_path, dkim_domain=domain, dkim_selector=selector, dkim_private_key_path=dkim_key.private_key_path
        )
        with pytest.raises(DkimKeyError, match="must be ASCII DNS names"):
            DkimSigner.from_settings(settings)
