"""The toolkit connects the composer to the SMTP backend's last EHLO: text goes 8bit once the relay
said 8BITMIME, and never towards a backend that cannot tell (outbox, memory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.mail import Unsubscribe, close_shared_backends
from service.mail.toolkit import DeliveryTools
from tests.conftest import make_settings
from tests.support.smtp_sink import SmtpSink

ARGS = {"subject": "2 papers", "text": "▲ 12 · Agents\n", "html": "<p>▲ 12</p>",
        "unsubscribe": Unsubscribe("https://papermail.test/unsubscribe/tok", "tok")}  # fmt: skip


@pytest.mark.integration
def test_digests_go_8bit_after_the_relay_announced_8bitmime(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    settings = make_settings(tmp_path, mail_from="Papermail <digest@papermail.test>", **smtp_sink.settings_overrides())
    tools = DeliveryTools.from_settings(settings)
    try:
        first = tools.composer.compose(to_address="ann@example.org", message_key="1", **ARGS)  # type: ignore[arg-type]
        tools.backend.send(first.envelope_from, first.to, first.data)
        second = tools.composer.compose(to_address="bob@example.org", message_key="2", **ARGS)  # type: ignore[arg-type]
        tools.backend.send(second.envelope_from, second.to, second.data)
    finally:
        close_shared_backends()
    assert first.data.isascii()  # before any connection nothing is known: quoted-printable
    assert b"Content-Transfer-Encoding: 8bit" in second.data and "▲ 12".encode() in second.data
    assert [r.data for r in smtp_sink.wait_for(2)] == [first.data, second.data]


@pytest.mark.parametrize("backend", ["outbox", "memory"])
def test_other_backends_never_get_8bit(tmp_path: Path, backend: str) -> None:
    settings = make_settings(tmp_path, mail_from="Papermail <digest@papermail.test>", mail_backend=backend)
    tools = DeliveryTools.from_settings(settings)
    mail = tools.composer.compose(to_address="ann@example.org", message_key="1", **ARGS)  # type: ignore[arg-type]
    assert mail.data.isascii() and not tools.composer.takes_8bit()


@pytest.mark.integration
def test_smtp_8bitmime_false_keeps_text_quoted_printable_even_when_the_relay_offers_8bit(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    settings = make_settings(tmp_path, mail_from="Papermail <digest@papermail.test>", smtp_8bitmime=False,
                             **smtp_sink.settings_overrides())
    tools = DeliveryTools.from_settings(settings)
    try:
        for key in ("1", "2"):  # the second is composed after the relay's EHLO announced 8BITMIME
            mail = tools.composer.compose(to_address="ann@example.org", message_key=key, **ARGS)  # type: ignore[arg-type]
            tools.backend.send(mail.envelope_from, mail.to, mail.data)
            assert mail.data.isascii() and b"Content-Transfer-Encoding: 8bit" not in mail.data
    finally:
        close_shared_backends()
    assert len(smtp_sink.wait_for(2)) == 2
