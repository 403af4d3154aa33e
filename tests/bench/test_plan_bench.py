"""bench/plan.py on a small population: the planner claims every due subscriber once, in full
batches, and a second tick claims nothing."""

from __future__ import annotations

import re

import pytest

from bench import plan as plan_bench


def test_the_plan_bench_claims_each_subscriber_once(capsys: pytest.CaptureFixture[str]) -> None:
    plan_bench.main(["--subscribers", "450", "--batch", "200", "--twice"])
    out = capsys.readouterr().out
    first, again = re.findall(r"claimed ([\d,]+) in ([\d,]+) batches \(largest (\d+)\)", out)
    assert first == ("450", "3", "200")
    assert again == ("0", "0", "0")
    assert "deliveries claimed in the database: 450" in out
    assert re.search(r"peak \d+ MB", out)
