"""The child processes of `papermail up`: started so that they die with it, stopped together.

Each child runs in its own process group (so a Celery worker's pool goes with it) and asks the
kernel for SIGTERM when its parent dies (Linux's PR_SET_PDEATHSIG): a `kill -9` of `up` runs no
handler of ours, so only the kernel can tell the children.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence

import httpx

PR_SET_PDEATHSIG = 1
# Long enough for a Celery worker's warm shutdown when idle; SIGTERM of `up` must be done in 5 s.
GRACE_SECONDS = 3.5


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        # The parent may have died between fork and prctl: then nobody will ever signal us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def spawn(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start ARGV in a process group of its own that gets SIGTERM when this process dies."""
    return subprocess.Popen(list(argv), start_new_session=True, preexec_fn=_die_with_parent(os.getpid()))


def port_taken(host: str, port: int) -> bool:
    """Whether HOST:PORT cannot be bound (someone listens there already, or it is not ours)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # uvicorn binds with SO_REUSEADDR too: a port in TIME_WAIT is free for both of us.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)
    return False


def wait_until_answering(url: str, children: Mapping[str, subprocess.Popen[bytes]], timeout: float) -> bool:
    """Poll URL until it answers (any HTTP status) while every child still runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            return False
        try:
            httpx.get(url, timeout=1.0)
            return True
        except httpx.HTTPError:
            time.sleep(0.1)  # polling a port that is not open yet; not synchronisation
    return False


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def shutdown(children: Mapping[str, subprocess.Popen[bytes]], grace_seconds: float = GRACE_SECONDS) -> None:
    """SIGTERM every child's group (Celery finishes or hands back its task), SIGKILL what is left."""
    for child in children.values():
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for child in children.values():
        try:
            child.wait(timeout=max(0.05, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for child in children.values():
        # Also the group: a worker's pool processes outlive a main process that was killed.
        _signal_group(child, signal.SIGKILL)
        if child.poll() is None:
            child.wait()
