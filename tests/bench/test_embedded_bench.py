"""bench/embedded.py on a handful of subscribers: the real `papermail digest run` sends every
digest once, on one process and on a pool, and the bench prints the ratio to the bare loop."""

from __future__ import annotations

import re

import pytest

from bench import embedded

pytestmark = pytest.mark.integration


def test_the_embedded_bench_sends_each_digest_once(capsys: pytest.CaptureFixture[str]) -> None:
    embedded.main(["--subscribers", "24", "--bare", "20", "--render", "8", "--naive", "2", "--batch", "10",
                   "--processes", "2,1"])
    out = capsys.readouterr().out
    assert len(re.findall(r"deliveries sent 24; sink got 24", out)) == 2
    assert len(re.findall(r"claimed 24, sent 24, skipped 0, failed 0, deferred 0", out)) == 2
    assert len(re.findall(r"ratio to bare: \d+\.\d\d", out)) == 2
