from __future__ import annotations

import pytest

from config.settings import Settings
from service.mail import (
    Composer,
    ConsoleBackend,
    DeliveryError,
    MemoryBackend,
    OutgoingMail,
    SmtpBackend,
    close_shared_backends,
    fail_recipient,
    get_backend,
    memory_outbox,
)


def mail_to(composer: Composer, to: str) -> OutgoingMail:
    return composer.compose(
        to_address=to, subject="Papers", text="Plain body\n", html="<p>HTML body</p>", message_key=to
    )


def test_settings_choose_the_backend(mail_settings: Settings) -> None:
    pick = lambda kind: get_backend(mail_settings.model_copy(update={"mail_backend": kind}))  # noqa: E731
    assert isinstance(pick("memory"), MemoryBackend)
    assert isinstance(pick("console"), ConsoleBackend)
    smtp = pick("smtp")
    assert isinstance(smtp, SmtpBackend)
    assert (smtp.host, smtp.port, smtp.security) == ("127.0.0.1", 25, "none")


def test_one_smtp_backend_per_process_and_configuration(mail_settings: Settings) -> None:
    smtp = mail_settings.model_copy(update={"mail_backend": "smtp"})
    try:
        assert get_backend(smtp) is get_backend(smtp.model_copy())
        assert get_backend(smtp) is not get_backend(smtp.model_copy(update={"smtp_port": 2525}))
    finally:
        close_shared_backends()


def test_memory_backend_keeps_what_was_sent(composer: Composer) -> None:
    alice, bob = mail_to(composer, "alice@example.com"), mail_to(composer, "bob@example.com")
    backend = MemoryBackend()
    assert backend.send(alice.envelope_from, alice.to, alice.data).message_id == alice.message_id
    backend.send(bob.envelope_from, bob.to, bob.data)

    sent = memory_outbox()
    assert [(m.to, m.data) for m in sent] == [("alice@example.com", alice.data), ("bob@example.com", bob.data)]
    assert sent[0].envelope_from == "digest@papermail.test"
    assert sent[1].message["Message-ID"] == bob.message_id


def test_memory_backend_can_refuse_a_recipient_a_number_of_times(composer: Composer) -> None:
    bob = mail_to(composer, "bob@example.com")
    fail_recipient("Bob@Example.com", DeliveryError("451 later", permanent=False, code=451), times=1)
    backend = MemoryBackend()

    with pytest.raises(DeliveryError) as caught:
        backend.send(bob.envelope_from, bob.to, bob.data)
    assert caught.value.code == 451 and memory_outbox() == []
    backend.send(bob.envelope_from, bob.to, bob.data)
    assert [m.to for m in memory_outbox()] == ["bob@example.com"]


def test_console_backend_prints_the_message(composer: Composer, capsys: pytest.CaptureFixture[str]) -> None:
    alice = mail_to(composer, "alice@example.com")
    result = ConsoleBackend().send(alice.envelope_from, alice.to, alice.data)

    out = capsys.readouterr().out
    assert "mail from digest@papermail.test to alice@example.com" in out
    assert f"Message-ID: {alice.message_id}" in out
    assert "Plain body" in out and "\r" not in out
    assert result.message_id == alice.message_id
