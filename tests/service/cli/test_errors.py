"""Every command turns a bad setting or an unreachable database into one line and exit 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import free_port

COMMANDS = [["db", "upgrade"], ["ingest"], ["digest", "plan"], ["digest", "run"], ["subscribers", "export"],
            ["admin", "list-tokens"]]


def papermail(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PAPERMAIL_")}
    environment.update(PAPERMAIL_DATA_DIR=str(cwd / "var"), **env)
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=60)


def closed_port() -> int:
    port = free_port()
    with socket.socket() as probe:  # nothing listens there: connecting is refused at once
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_sources_that_are_not_json_is_one_line(tmp_path: Path, args: list[str]) -> None:
    result = papermail(args, tmp_path, PAPERMAIL_SOURCES="not json")
    assert result.returncode == 2
    assert result.stderr.strip() == "papermail: invalid setting PAPERMAIL_SOURCES: not valid JSON"


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line(tmp_path: Path, args: list[str]) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/papermail"
    result = papermail(args, tmp_path, PAPERMAIL_DATABASE_URL=url)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("papermail: cannot reach the database (PAPERMAIL_DATABASE_URL): ")
    assert "refused" in lines[0]
