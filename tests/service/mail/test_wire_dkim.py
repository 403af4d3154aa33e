"""Real digests and account mails with 7bit and 8bit bodies, signed and sent through the SMTP sink,
verified by the independent verifiers (Perl's Mail::DKIM, OpenDKIM: tests/support/dkim.py): the
7bit HTML (no transfer encoding, lines broken at compile time) and the 8bit UTF-8 text part (sent
to a relay announcing 8BITMIME) sign and verify like the quoted-printable did, and a changed byte
in either body still fails."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from service.mail import Composer, SmtpBackend
from service.mail.message import Unsubscribe
from service.rendering import render_confirm, render_digest
from tests.conftest import make_settings, skip_or_fail
from tests.service.rendering.samples import SENDER, digest
from tests.support.dkim import (
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

pytestmark = pytest.mark.integration
BASE = "https://papermail.test"


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[bytes], tuple[DkimKey, DkimKey]]]:
    if not mail_dkim_available():
        skip_or_fail("Perl's Mail::DKIM is not installed (Debian: libmail-dkim-perl)")
    if not opendkim_available():
        skip_or_fail("opendkim is not installed (Debian: opendkim)")
    folder = tmp_path_factory.mktemp("dkim-keys")
    rsa, ed25519 = make_dkim_key(folder), make_ed25519_key(folder)
    sink = SmtpSink()
    sink.start()
    try:
        settings = make_settings(
            tmp_path_factory.mktemp("var"), mail_from="Papermail Digest <digest@papermail.test>", base_url=BASE,
            dkim_domain="papermail.test", dkim_selector=rsa.selector, dkim_private_key_path=rsa.private_key_path,
            dkim_ed25519_selector=ed25519.selector, dkim_ed25519_private_key_path=ed25519.private_key_path,
            **sink.settings_overrides(),
        )  # fmt: skip
        composer = Composer.from_settings(settings)
        eight_bit = Composer.from_settings(settings, takes_8bit=lambda: True)
        ctx = digest(10)
        ctx = replace(ctx, papers=[replace(p, more_url=f"{BASE}/vote/M{i}", less_url=f"{BASE}/vote/L{i}")
                                   for i, p in enumerate(ctx.papers)])  # fmt: skip
        email = render_digest(ctx)
        confirm = render_confirm(recipient="alice@example.org", confirm_url=f"{BASE}/confirm/T", sender=SENDER)
        when = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
        mails = [
            composer.compose(to_address=ctx.recipient, subject=email.subject, text=email.text, html=email.html,
                             message_key="d", delivery_id=3, unsubscribe=Unsubscribe(ctx.links.unsubscribe_url, "T"),
                             date=when),
            # ASCII text too: both parts 7bit.
            composer.compose(to_address="alice@example.org", subject=confirm.subject, text=confirm.text.replace("—", "-"),
                             html=confirm.html, message_key="c", kind="confirm", date=when),
            # For a relay announcing 8BITMIME (the sink does): the text part as UTF-8, unencoded.
            eight_bit.compose(to_address=ctx.recipient, subject=email.subject, text=email.text, html=email.html,
                              message_key="d8", delivery_id=4, unsubscribe=Unsubscribe(ctx.links.unsubscribe_url, "T"),
                              date=when),
        ]  # fmt: skip
        backend = SmtpBackend.from_settings(settings)
        try:
            for mail in mails:
                backend.send(mail.envelope_from, mail.to, mail.data)
        finally:
            backend.close()
        messages = [m.data for m in sink.wait_for(3)]
        assert messages == [mail.data for mail in mails]
        yield messages, (rsa, ed25519)
    finally:
        sink.stop()


def test_7bit_and_8bit_digests_and_account_mail_verify_and_a_changed_body_byte_fails(
    received: tuple[list[bytes], tuple[DkimKey, DkimKey]],
) -> None:
    messages, keys = received
    digest_bytes, confirm_bytes, eight_bit_bytes = messages
    assert digest_bytes.count(b"Content-Transfer-Encoding: 7bit") == 1  # the HTML; the text has ▲ and 👍
    assert confirm_bytes.count(b"Content-Transfer-Encoding: 7bit") == 2
    assert b"Content-Transfer-Encoding: 8bit" in eight_bit_bytes and "▲".encode() in eight_bit_bytes
    tampered = [data.replace(b"papermail, 1 Example Street", b"papermail, 2 Example Street", 1) for data in messages]
    # and one byte of the 8bit text itself: a different character, same length
    tampered.append(eight_bit_bytes.replace("👍".encode(), "👎".encode(), 1))
    assert all(t != m for t, m in zip(tampered, [*messages, eight_bit_bytes], strict=True))
    batch = messages + tampered
    mail_dkim = [results_by_algorithm(r) for r in mail_dkim_verify(batch, keys)]
    opendkim = [results_by_algorithm(r) for r in opendkim_verify(batch, keys)]
    count = len(messages)
    for index in range(count):
        assert opendkim[index] == {"rsa-sha256": "pass", "ed25519-sha256": "pass"}, index
        assert mail_dkim[index]["rsa-sha256"] == "pass", index
    for index in range(count, len(batch)):
        assert opendkim[index] == {"rsa-sha256": "fail", "ed25519-sha256": "fail"}, index
        assert mail_dkim[index]["rsa-sha256"] == "fail", index
