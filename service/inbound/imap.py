"""Polling an IMAP mailbox for operators whose bounce and unsubscribe addresses live at a provider
(`papermail inbound --imap`): every unseen message in INBOUND_IMAP_FOLDER is read, applied, then
marked ``\\Seen`` (and moved to INBOUND_IMAP_PROCESSED_FOLDER when set), so no poll reads it twice.

A message is fetched with BODY.PEEK (fetching does not mark it) and marked only after its effect
is committed: a database outage leaves it unseen for the next poll.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from config.settings import Settings
from service.actions.inbound import InboundResult
from service.inbound.process import InboundProcessor

log = logging.getLogger("papermail.inbound")
IMAP_TIMEOUT_SECONDS = 60.0


class MailboxError(Exception):
    """The mailbox cannot be reached or read: one line, naming the setting to look at."""


@dataclass
class PollReport:
    results: list[InboundResult] = field(default_factory=list)

    def line(self) -> str:
        if not self.results:
            return "no new messages"
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.result] = counts.get(result.result, 0) + 1
        return f"{len(self.results)} message(s): " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())


def quoted(name: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(response: tuple[str, Sequence[object]], what: str) -> list[object]:
    status, data = response
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise MailboxError(f"IMAP {what} failed: {detail or status}")
    return list(data)


def connect(settings: Settings, ssl_context: ssl.SSLContext | None = None) -> imaplib.IMAP4:
    """A logged-in connection to INBOUND_IMAP_HOST; MailboxError in one line when that fails."""
    host, port, security = settings.inbound_imap_host, settings.inbound_imap_port, settings.inbound_imap_security
    where = f"{host}:{port} (PAPERMAIL_INBOUND_IMAP_HOST/PORT/SECURITY)"
    if not host:
        raise MailboxError("PAPERMAIL_INBOUND_IMAP_HOST is not set: there is no mailbox to poll")
    context = ssl_context or ssl.create_default_context()
    try:
        if security == "ssl":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=IMAP_TIMEOUT_SECONDS)
        else:
            conn = imaplib.IMAP4(host, port, timeout=IMAP_TIMEOUT_SECONDS)
            if security == "starttls":
                conn.starttls(ssl_context=context)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"cannot reach the IMAP server {where}: {exc}") from None
    try:
        conn.login(settings.inbound_imap_username, settings.inbound_imap_password)
    except (OSError, imaplib.IMAP4.error) as exc:
        conn.shutdown()
        raise MailboxError(f"IMAP login as {settings.inbound_imap_username!r} refused "
                           f"(PAPERMAIL_INBOUND_IMAP_USERNAME/PASSWORD): {exc}") from None
    # Servers announce more after login (MOVE, UIDPLUS); imaplib keeps the greeting's list.
    _, data = conn.capability()
    if data and isinstance(data[-1], bytes):
        conn.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())
    return conn


def _fetch(conn: imaplib.IMAP4, uid: bytes) -> bytes | None:
    data = _check(conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])"), "FETCH")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None  # expunged by someone else meanwhile


def _mark_done(conn: imaplib.IMAP4, uid: bytes, processed_folder: str) -> None:
    _check(conn.uid("STORE", uid.decode(), "+FLAGS.SILENT", "(\\Seen)"), "STORE \\Seen")
    if not processed_folder:
        return
    if "MOVE" in conn.capabilities:
        _check(conn.uid("MOVE", uid.decode(), quoted(processed_folder)), f"MOVE to {processed_folder}")
        return
    _check(conn.uid("COPY", uid.decode(), quoted(processed_folder)), f"COPY to {processed_folder}")
    _check(conn.uid("STORE", uid.decode(), "+FLAGS.SILENT", "(\\Deleted)"), "STORE \\Deleted")
    if "UIDPLUS" in conn.capabilities:  # else the \Deleted message goes at the server's next EXPUNGE
        _check(conn.uid("EXPUNGE", uid.decode()), "UID EXPUNGE")


def poll_once(settings: Settings, processor: InboundProcessor, *,
              ssl_context: ssl.SSLContext | None = None) -> PollReport:
    """Read, apply and mark every unseen message once. MailboxError when the mailbox fails; a
    database error propagates with the message left unseen."""
    report = PollReport()
    conn = connect(settings, ssl_context)
    try:
        folder, processed = settings.inbound_imap_folder, settings.inbound_imap_processed_folder
        _check(conn.select(quoted(folder)), f"SELECT {folder} (PAPERMAIL_INBOUND_IMAP_FOLDER)")
        if processed:
            conn.create(quoted(processed))  # "already exists" is a NO we do not mind
        [found] = _check(conn.uid("SEARCH", "UNSEEN"), "SEARCH UNSEEN") or [b""]
        for uid in found.split() if isinstance(found, bytes) else []:
            data = _fetch(conn, uid)
            if data is None:
                continue
            report.results.append(processor.process(data, (), channel="imap"))
            _mark_done(conn, uid, processed)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"IMAP mailbox {settings.inbound_imap_host}: {exc}") from None
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            conn.shutdown()
    return report


def poll_forever(settings: Settings, stop: threading.Event, processor: InboundProcessor | None = None) -> None:
    """Poll every INBOUND_IMAP_POLL_SECONDS until STOP is set; a failed poll is logged and retried."""
    processor = processor or InboundProcessor(settings)
    while not stop.is_set():
        try:
            log.info("inbound imap: %s", poll_once(settings, processor).line())
        except MailboxError as exc:
            log.warning("inbound imap: %s; trying again in %ss", exc, settings.inbound_imap_poll_seconds)
        except Exception:
            log.exception("inbound imap: poll failed; trying again in %ss", settings.inbound_imap_poll_seconds)
        stop.wait(settings.inbound_imap_poll_seconds)
