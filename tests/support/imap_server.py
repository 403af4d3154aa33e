"""A real IMAP server for tests: Debian's Dovecot (dovecot-imapd), started in the foreground with a
minimal configuration of its own in a fresh directory, on a free loopback port, with one
passwd-file user and a Maildir. Nothing of the system's /etc/dovecot is read.

As root, Dovecot runs its login processes as ``dovenull`` and the mail process as ``nobody`` (it
refuses uid 0 for mail); as anyone else, everything runs as that user.
"""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def dovecot_available() -> bool:
    return os.access(DOVECOT, os.X_OK)


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    username: str
    password: str
    log: Path

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(self.username, self.password)
        return conn

    def append(self, data: bytes, folder: str = "INBOX") -> None:
        conn = self.client()
        try:
            status, detail = conn.append(f'"{folder}"', None, None, data)
            assert status == "OK", detail
        finally:
            conn.logout()

    def messages(self, folder: str = "INBOX") -> list[tuple[bytes, set[str]]]:
        """(bytes, flags) of every message in FOLDER."""
        conn = self.client()
        try:
            status, _ = conn.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            _, [found] = conn.uid("SEARCH", "ALL")
            result = []
            for uid in (found or b"").split():
                _, data = conn.uid("FETCH", uid.decode(), "(FLAGS BODY.PEEK[])")
                head, body = data[0]
                flags = head.decode().split("FLAGS (", 1)[1].split(")", 1)[0].split()
                result.append((body, set(flags)))
            return result
        finally:
            conn.logout()


def _config(root: Path, port: int, username: str) -> str:
    if os.geteuid() == 0:
        mail = pwd.getpwnam("nobody")
        users = ("dovecot", "dovecot", "dovenull")
    else:
        mail = pwd.getpwuid(os.getuid())
        me = getpass.getuser()
        users = (me, grp.getgrgid(os.getgid()).gr_name, me)
    internal_user, internal_group, login_user = users
    (root / "mail").mkdir(mode=0o755)
    os.chown(root / "mail", mail.pw_uid, mail.pw_gid)
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = papermail-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _wait_until_greeting(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited with {proc.returncode}:\n{log.read_text()[-3000:] if log.exists() else ''}")
        try:
            imaplib.IMAP4("127.0.0.1", port, timeout=2).shutdown()
            return
        except (OSError, imaplib.IMAP4.error):
            time.sleep(0.05)  # a server that is starting; the deadline bounds it
    raise TimeoutError(f"dovecot did not greet on port {port} within {timeout}s")


@contextmanager
def dovecot(username: str = "bounces", password: str = "imap-test-password") -> Iterator[ImapServer]:
    """Dovecot on a free loopback port, stopped and removed afterwards."""
    # Not under pytest's tmp_path: its parents are private to the test user, and as root the
    # mail process (nobody) must be able to reach its Maildir.
    root = Path(tempfile.mkdtemp(prefix="papermail-dovecot-"))
    root.chmod(0o755)
    proc: subprocess.Popen[bytes] | None = None
    try:
        port = free_port()
        (root / "users").write_text(f"{username}:{{PLAIN}}{password}::::::\n")
        (root / "dovecot.conf").write_text(_config(root, port, username))
        log = root / "dovecot.log"
        proc = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        _wait_until_greeting(port, proc, log)
        yield ImapServer("127.0.0.1", port, username, password, log)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)
