"""papermail's DKIM signatures, as received by a real SMTP server, checked by verifiers that share no
code with the signer: Perl's Mail::DKIM and OpenDKIM (tests/support/dkim.py).

One digest is signed with RSA-2048 and Ed25519, sent through the aiosmtpd sink, and every variant
below is built from the bytes the sink received, then verified in one batch per verifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.mail import Composer, SmtpBackend
from service.mail.message import Unsubscribe
from tests.conftest import make_settings, skip_or_fail
from tests.support.dkim import (
    SENDER_DOMAIN,
    DkimKey,
    make_dkim_key,
    make_ed25519_key,
    mail_dkim_available,
    mail_dkim_verify,
    opendkim_available,
    opendkim_verify,
    results_by_algorithm,
)
from tests.support.smtp_sink import SmtpSink

# Long lines, runs of spaces, a leading dot (SMTP dot-stuffing), "From " (mbox quoting), non-ASCII.
TEXT = "Three papers on agents — for you.\n\n.a line starting with a dot\nFrom here on, papers:\n" + "word " * 60 + "\n"
HTML = "<table>\n      <tr><td>  Efficient   inference </td></tr>\n" + "<p>é" * 300 + "\n</table>"
Verdicts = dict[str, dict[str, dict[str, str]]]  # case -> verifier -> algorithm -> result
FIELD = re.compile(rb"^([A-Za-z0-9-]+):(.*\r\n(?:[ \t].*\r\n)*)", re.MULTILINE)


@pytest.fixture(scope="module", autouse=True)
def _verifiers() -> None:
    if not mail_dkim_available():
        skip_or_fail("Perl's Mail::DKIM is not installed (Debian: libmail-dkim-perl)")
    if not opendkim_available():
        skip_or_fail("opendkim is not installed (Debian: opendkim)")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[DkimKey, DkimKey]:
    folder = tmp_path_factory.mktemp("dkim-keys")
    return make_dkim_key(folder), make_ed25519_key(folder)


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory, keys: tuple[DkimKey, DkimKey]) -> Iterator[bytes]:
    """The bytes the SMTP sink accepted for one signed digest."""
    rsa, ed25519 = keys
    sink = SmtpSink()
    sink.start()
    try:
        settings = make_settings(
            tmp_path_factory.mktemp("var"),
            mail_from="Papermail Digest <digest@papermail.test>",
            mail_reply_to="editors@papermail.test",
            base_url="https://papermail.test",
            dkim_domain=SENDER_DOMAIN,
            dkim_selector=rsa.selector,
            dkim_private_key_path=rsa.private_key_path,
            dkim_ed25519_selector=ed25519.selector,
            dkim_ed25519_private_key_path=ed25519.private_key_path,
            **sink.settings_overrides(),
        )
        mail = Composer.from_settings(settings).compose(
            to_address="alice@example.com",
            subject="3 new papers on agents — Nov 27, a subject long enough to be folded over two lines",
            text=TEXT,
            html=HTML,
            message_key="sub-1/2026-11-27",
            unsubscribe=Unsubscribe("https://papermail.test/unsubscribe/tok42", "tok42"),
            delivery_id=7,
            date=datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
        )
        backend = SmtpBackend.from_settings(settings)
        try:
            backend.send(mail.envelope_from, mail.to, mail.data)
        finally:
            backend.close()
        [message] = sink.wait_for(1)
        assert message.data == mail.data
        yield message.data
    finally:
        sink.stop()


def fields_of(data: bytes) -> list[tuple[bytes, bytes]]:
    head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    return [(name, value) for name, value in FIELD.findall(head) if name.lower() != b"dkim-signature"]


def variants(data: bytes) -> dict[str, bytes]:
    """The message as received, what relays legitimately do to it, and every tampering."""
    head, body = data.split(b"\r\n\r\n", 1)
    cases = {
        "as received": data,
        "relay trace added": b"Return-Path: <digest@papermail.test>\r\nReceived: from a by b; 27 Nov 2026\r\n" + data,
        "subject whitespace changed": data.replace(b"\r\nSubject: ", b"\r\nSubject: \t  ", 1),
        "body: one character changed": head + b"\r\n\r\n" + body.replace(b"Three papers", b"Three Papers", 1),
        "body: a line appended": data + b"P.S. click here\r\n",
    }
    for name, value in fields_of(data):
        field = name + b":" + value
        # A visible change: the value gains a word (relaxed canonicalisation ignores whitespace only).
        cases[f"altered {name.decode()}"] = data.replace(field, name + b": forged" + value, 1)
        cases[f"second {name.decode()} prepended"] = field + data
    return cases


@pytest.fixture(scope="module")
def verdicts(received: bytes, keys: tuple[DkimKey, DkimKey]) -> Verdicts:
    """Each variant's verdicts, from one run of each verifier over all of them."""
    cases = variants(received)
    assert len(set(cases.values())) == len(cases)  # every variant really changed something
    messages = list(cases.values())
    by_mail_dkim = mail_dkim_verify(messages, keys)
    by_opendkim = opendkim_verify(messages, keys)
    return {
        case: {"Mail::DKIM": results_by_algorithm(m), "OpenDKIM": results_by_algorithm(o)}
        for case, m, o in zip(cases, by_mail_dkim, by_opendkim, strict=True)
    }


def test_the_received_digest_verifies_rsa_with_both_and_ed25519_with_opendkim(verdicts: Verdicts) -> None:
    outcome = verdicts["as received"]
    assert outcome["OpenDKIM"] == {"rsa-sha256": "pass", "ed25519-sha256": "pass"}
    # Debian 12's Mail::DKIM predates its Ed25519 support: it reports that signature "invalid".
    assert outcome["Mail::DKIM"]["rsa-sha256"] == "pass"
    assert outcome["Mail::DKIM"]["ed25519-sha256"] in ("pass", "invalid")


@pytest.mark.parametrize("case", ["relay trace added", "subject whitespace changed"])
def test_what_relays_do_in_transit_keeps_the_signatures(verdicts: Verdicts, case: str) -> None:
    assert verdicts[case]["OpenDKIM"] == {"rsa-sha256": "pass", "ed25519-sha256": "pass"}
    assert verdicts[case]["Mail::DKIM"]["rsa-sha256"] == "pass"


def _still_passing(outcome: dict[str, dict[str, str]]) -> list[str]:
    return [f"{verifier} {algorithm}" for verifier, results in outcome.items() for algorithm, result in results.items()
            if result == "pass"]  # fmt: skip


def test_the_tampered_variants_cover_every_field_of_the_message(received: bytes, verdicts: Verdicts) -> None:
    names = {name.decode() for name, _ in fields_of(received)}
    # What papermail writes today; a field added later is covered by the loop below on its own.
    assert {"From", "To", "Subject", "Date", "Message-ID", "Reply-To", "List-Id", "List-Unsubscribe",
            "List-Unsubscribe-Post", "MIME-Version", "Content-Type"} <= names  # fmt: skip
    assert {f"altered {n}" for n in names} | {f"second {n} prepended" for n in names} <= set(verdicts)


@pytest.mark.parametrize("kind", ["altered {}", "second {} prepended"])
def test_altering_or_adding_a_copy_of_any_header_field_breaks_every_signature(
    received: bytes, verdicts: Verdicts, kind: str
) -> None:
    cases = [kind.format(name.decode()) for name, _ in fields_of(received)]
    passing = {case: _still_passing(verdicts[case]) for case in cases}
    assert {case: p for case, p in passing.items() if p} == {}
    # Each verifier saw both signatures and said so: "fail", not a missing verdict.
    for case in cases:
        assert verdicts[case]["OpenDKIM"] == {"rsa-sha256": "fail", "ed25519-sha256": "fail"}, case
        assert verdicts[case]["Mail::DKIM"]["rsa-sha256"] == "fail", case


@pytest.mark.parametrize("case", ["body: one character changed", "body: a line appended"])
def test_changing_the_body_breaks_every_signature(verdicts: Verdicts, case: str) -> None:
    assert verdicts[case]["OpenDKIM"] == {"rsa-sha256": "fail", "ed25519-sha256": "fail"}
    assert verdicts[case]["Mail::DKIM"]["rsa-sha256"] == "fail"


def test_opendkim_reads_the_keys_it_was_given(tmp_path: Path, received: bytes) -> None:
    """A control for the harness: with other keys under the same selectors, nothing passes."""
    others = (make_dkim_key(tmp_path), make_ed25519_key(tmp_path))
    [outcome] = opendkim_verify([received], others)
    assert results_by_algorithm(outcome) == {"rsa-sha256": "fail", "ed25519-sha256": "fail"}
    [outcome] = mail_dkim_verify([received], others)
    assert results_by_algorithm(outcome)["rsa-sha256"] == "fail"
