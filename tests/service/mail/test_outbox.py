from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.settings import Settings
from service.mail import (
    Composer,
    DeliveryError,
    OutboxBackend,
    Unsubscribe,
    get_backend,
    list_outbox,
    open_outbox_entry,
)
from service.mail.outbox import OUTBOX_NAME


def compose(composer: Composer, to: str, key: str) -> tuple[str, bytes]:
    mail = composer.compose(
        to_address=to,
        subject=f"Papers for {to}",
        text="text",
        html="<p>html</p>",
        message_key=key,
        unsubscribe=Unsubscribe("https://papermail.test/unsubscribe/t", "t"),
    )
    return mail.message_id, mail.data


def test_each_message_becomes_one_eml_file_read_back_byte_for_byte(mail_settings: Settings, composer: Composer) -> None:
    settings = mail_settings.model_copy(update={"mail_backend": "outbox"})
    backend = get_backend(settings)
    assert isinstance(backend, OutboxBackend)
    assert backend.directory == mail_settings.outbox_dir
    sent = []
    for i, who in enumerate(["alice@example.com", "bob@example.com", "carol@example.com"]):
        message_id, data = compose(composer, who, f"k{i}")
        result = backend.send("digest@papermail.test", who, data)
        assert result.message_id == message_id
        assert result.reply is not None and OUTBOX_NAME.fullmatch(result.reply)
        sent.append(data)

    entries = list_outbox(mail_settings.outbox_dir)
    assert [e.read_bytes() for e in entries] == sent  # names sort in sending order
    assert [e.message()["To"] for e in entries] == ["alice@example.com", "bob@example.com", "carol@example.com"]
    assert [e.name for e in list_outbox(mail_settings.outbox_dir, newest_first=True, limit=2)] == [
        entries[2].name,
        entries[1].name,
    ]
    assert entries[0].size == len(sent[0])
    assert sorted(p.name for p in mail_settings.outbox_dir.iterdir()) == [e.name for e in entries]


def test_temp_files_are_hidden_and_never_end_in_eml(
    mail_settings: Settings, composer: Composer, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = mail_settings.outbox_dir
    seen_during_write: list[list[str]] = []
    real_replace = os.replace

    def replace_and_look(src: str, dst: str) -> None:
        # the moment before the rename: only the temp file exists, and the reader ignores it
        seen_during_write.append(sorted(p.name for p in outbox.iterdir()))
        assert list_outbox(outbox) == []
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_and_look)
    _, data = compose(composer, "alice@example.com", "k")
    OutboxBackend(outbox).send("digest@papermail.test", "alice@example.com", data)

    [names] = seen_during_write
    assert len(names) == 1 and names[0].startswith(".") and not names[0].endswith(".eml")
    assert [e.read_bytes() for e in list_outbox(outbox)] == [data]
    assert all(OUTBOX_NAME.fullmatch(p.name) for p in outbox.iterdir())


def test_a_failed_write_leaves_nothing_behind_and_is_transient(
    mail_settings: Settings, composer: Composer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    _, data = compose(composer, "alice@example.com", "k")
    with pytest.raises(DeliveryError, match="No space left") as caught:
        OutboxBackend(mail_settings.outbox_dir).send("digest@papermail.test", "alice@example.com", data)

    assert caught.value.permanent is False
    assert list(mail_settings.outbox_dir.iterdir()) == []


def test_listing_a_missing_outbox_is_empty(tmp_path: Path) -> None:
    assert list_outbox(tmp_path / "never-created") == []


def test_open_entry_refuses_names_outside_the_outbox(mail_settings: Settings, composer: Composer) -> None:
    _, data = compose(composer, "alice@example.com", "k")
    name = OutboxBackend(mail_settings.outbox_dir).send("d@papermail.test", "alice@example.com", data).reply
    assert name is not None
    assert open_outbox_entry(mail_settings.outbox_dir, name).read_bytes() == data

    for bad in ["../../etc/passwd", "/etc/passwd", ".incoming-x.tmp", "20261127T080000123456Z-000000000000.eml"]:
        with pytest.raises(FileNotFoundError):
            open_outbox_entry(mail_settings.outbox_dir, bad)
