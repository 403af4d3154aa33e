"""The embedded backend: each message becomes one ``.eml`` file under ``DATA_DIR/outbox``.

Files appear atomically: bytes go to a hidden temp file in the same directory, are fsynced,
then renamed into place, so a reader (the admin page, ``list_outbox``) never sees half a
message and a crash leaves at most a stray ``.tmp`` file. Names sort by time of sending.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from service.mail.message import message_id_of
from service.mail.protocol import DeliveryError, SendResult

# 20261127T080000123456Z-<12 hex>.eml : UTC time to the microsecond, then a hash of the Message-ID.
OUTBOX_NAME = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{12}\.eml")


def outbox_file_name(sent_at: datetime, message_id: str) -> str:
    digest = hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()[:12]
    return f"{sent_at.astimezone(UTC):%Y%m%dT%H%M%S%f}Z-{digest}.eml"


def write_atomically(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".incoming-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        final = directory / name
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(directory)  # the rename itself survives a power cut
    return final


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform; the file's own fsync still happened
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OutboxBackend:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, envelope_from: str, to: str, message_bytes: bytes) -> SendResult:
        message_id = message_id_of(message_bytes)
        key = message_id or hashlib.sha256(message_bytes).hexdigest()
        name = outbox_file_name(datetime.now(UTC), key)
        try:
            write_atomically(self.directory, name, message_bytes)
        except OSError as exc:  # disk full, permissions: may clear up, so retryable
            raise DeliveryError(f"cannot write to outbox {self.directory}: {exc}", permanent=False) from exc
        return SendResult(message_id=message_id, reply=name)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class OutboxEntry:
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.read_bytes(), policy=email.policy.default)


def list_outbox(directory: Path, *, newest_first: bool = False, limit: int | None = None) -> list[OutboxEntry]:
    """The finished messages in ``directory`` (temp files are skipped), oldest first by default."""
    if not directory.is_dir():
        return []
    names = sorted((p.name for p in directory.iterdir() if OUTBOX_NAME.fullmatch(p.name)), reverse=newest_first)
    if limit is not None:
        names = names[:limit]
    return [OutboxEntry(directory / name) for name in names]


def open_outbox_entry(directory: Path, name: str) -> OutboxEntry:
    """One message by file name, for the admin viewer: anything but an outbox name is refused,
    so a crafted name cannot read outside the outbox."""
    if not OUTBOX_NAME.fullmatch(name):
        raise FileNotFoundError(f"not an outbox message name: {name!r}")
    path = directory / name
    if not path.is_file():
        raise FileNotFoundError(f"no such outbox message: {name}")
    return OutboxEntry(path)
