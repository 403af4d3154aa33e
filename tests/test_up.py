"""`papermail up` on a fresh directory: web answers, a task round-trips through the broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from config.settings import DEFAULT_SECRET_KEY, Settings
from tests.conftest import make_settings
from tests.support.cli import run_cli
from tests.support.processes import free_port, papermail_process, wait_for_http
from workers.celery_app import create_app

pytestmark = pytest.mark.integration


def run_up_and_round_trip(child: Settings, settings: Settings, cwd: Path) -> None:
    """Start `papermail up` with CHILD's environment; talk to it as SETTINGS describe it."""
    port = free_port()
    log = cwd / "up.log"
    with papermail_process(["up", "--port", str(port)], child, cwd, log) as proc:
        health = wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=20)
        assert health.json()["status"] == "ok"
        assert f"papermail is up at http://127.0.0.1:{port}/" in wait_for_line(log, "is up at", proc)

        # The test process talks to the same broker as the worker that `up` started.
        client = create_app(settings)
        result = client.send_task("workers.tasks.ping", args=["round-trip"])
        answer = result.get(timeout=30)
        assert answer["payload"] == "round-trip"
        assert answer["pid"] != proc.pid  # computed by the worker, not by us


def test_up_on_embedded_defaults(tmp_path: Path) -> None:
    """No settings at all: SQLite + filesystem broker under ./var of the working directory."""
    nothing_set = Settings(_env_file=None)  # type: ignore[call-arg]
    run_up_and_round_trip(nothing_set, make_settings(tmp_path / "var"), tmp_path)
    assert (tmp_path / "var" / "papermail.sqlite3").exists()
    assert (tmp_path / "var" / "broker" / "queue").is_dir()


def test_up_on_redis_and_postgresql(tmp_path: Path, redis_url: str, pg_database_url: str) -> None:
    settings = make_settings(tmp_path / "var", broker_url=redis_url, database_url=pg_database_url)
    run_up_and_round_trip(settings, settings, tmp_path)
    assert not (tmp_path / "var" / "papermail.sqlite3").exists()


def wait_for_line(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> str:
    """LOG's text once it holds TEXT (fails if the process exits first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text()
        if text in content:
            return content
        assert proc.poll() is None, content[-3000:]
        time.sleep(0.05)  # waiting for a child's output; the deadline bounds it
    raise AssertionError(f"{text!r} not printed within {timeout}s:\n{log.read_text()[-3000:]}")


def descendants(pid: int) -> set[int]:
    """Every live process below PID, read from /proc (children of children included)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)}


def _state(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}") / "status").read_text()
    except OSError:
        return "zombie"


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the kernel's process table; the deadline bounds it
    return alive(pids)


@pytest.fixture
def running_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    log = tmp_path / "up.log"
    settings = make_settings(tmp_path / "var")
    with papermail_process(["up", "--port", str(port)], settings, tmp_path, log) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=30)
        yield proc, port, log


def test_is_up_is_printed_only_once_healthz_answers(running_up: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    proc, port, log = running_up
    assert wait_for_line(log, "is up at", proc).count("papermail is up at") == 1
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200


def test_kill_9_of_up_leaves_nothing_running(running_up: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    proc, port, _log = running_up
    children = descendants(proc.pid)
    assert len(children) >= 3  # web, worker (and its pool), beat
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert wait_gone(children, timeout=15) == set()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_sigterm_stops_everything_within_5_seconds(running_up: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    proc, _port, _log = running_up
    children = descendants(proc.pid)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    assert time.monotonic() - started <= 5.0
    assert alive(children) == set()


def test_a_taken_port_is_refused_before_any_child_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(make_settings(tmp_path / "var"), "up", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var" / "papermail.sqlite3").exists()  # nothing was prepared or started


@pytest.mark.parametrize("command", ["up", "web"])
def test_the_development_secret_is_refused_outside_loopback(tmp_path: Path, command: str) -> None:
    development = make_settings(tmp_path / "var", environment="development", secret_key=DEFAULT_SECRET_KEY)
    result = run_cli(development, command, "--host", "0.0.0.0", "--port", str(free_port()), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "development PAPERMAIL_SECRET_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
