"""Real papermail processes for integration tests: `papermail up`, a Celery worker, beat."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from config.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that reproduces SETTINGS in a child process (only what was set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERMAIL_")}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if isinstance(value, list):
            text = json.dumps([item.model_dump() if hasattr(item, "model_dump") else item for item in value])
        else:
            text = str(value)
        env[f"PAPERMAIL_{name.upper()}"] = text
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def papermail_process(args: list[str], settings: Settings, cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `papermail ARGS` as a child; SIGTERM it (then SIGKILL) on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *args],
            cwd=cwd,
            env=settings_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the whole tree can be stopped
        )
        try:
            yield proc
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def kill_process_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and all its children: a crash, not a shutdown."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_for_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> httpx.Response:
    """Poll URL until it answers 200; fail fast if the process died. Returns the response."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.1)  # polling a server that is starting; the deadline bounds it
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s (last: {last}):\n{log.read_text()[-3000:]}")


@contextmanager
def celery_worker(settings: Settings, cwd: Path, log: Path, concurrency: int = 2) -> Iterator[subprocess.Popen[bytes]]:
    """A real `papermail worker` subprocess, returned once it has answered a ping."""
    from workers.celery_app import create_app

    with papermail_process(["worker", "--concurrency", str(concurrency)], settings, cwd, log) as proc:
        result = create_app(settings).send_task("workers.tasks.ping", args=["ready?"])
        try:
            result.get(timeout=60)
        except Exception as exc:
            raise RuntimeError(f"worker did not answer ({exc!r}):\n{log.read_text()[-3000:]}") from exc
        yield proc
