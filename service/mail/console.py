"""The development backend: writes each message to stdout instead of sending it."""

from __future__ import annotations

import sys
import threading

from service.mail.message import message_id_of
from service.mail.protocol import SendResult

_write_lock = threading.Lock()  # keep two threads' messages from interleaving


class ConsoleBackend:
    def send(self, envelope_from: str, to: str, message_bytes: bytes) -> SendResult:
        text = message_bytes.decode("utf-8", errors="replace").replace("\r\n", "\n")
        with _write_lock:
            out = sys.stdout  # looked up per call so redirection (and pytest's capsys) applies
            out.write(f"---------- mail from {envelope_from} to {to} ----------\n")
            out.write(text if text.endswith("\n") else text + "\n")
            out.write("---------- end of mail ----------\n")
            out.flush()
        return SendResult(message_id=message_id_of(message_bytes), reply="written to stdout")

    def close(self) -> None:
        pass
