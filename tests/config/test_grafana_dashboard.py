"""config/grafana-dashboard.json imports into Grafana and every query names a series /metrics serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.storage import migrate
from service.web.app import create_app
from tests.conftest import REPO_ROOT, make_settings

DASHBOARD = REPO_ROOT / "config" / "grafana-dashboard.json"
SERIES = re.compile(r"\bpapermail_[a-z_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def queries(dashboard: dict[str, Any]) -> dict[str, list[str]]:
    return {panel["title"]: [target["expr"] for target in panel.get("targets", [])]
            for panel in dashboard["panels"] if panel["type"] != "row"}


def served_series(tmp_path: Path) -> set[str]:
    """Every sample name /metrics can serve, from an installation on the SMTP backend (the only
    one with a relay breaker) before anything happened."""
    settings = make_settings(tmp_path / "var", mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=2525)
    migrate.upgrade(settings)
    text = TestClient(create_app(settings)).get("/metrics").text
    return {family.name + suffix for family in text_string_to_metric_families(text)
            for suffix in SUFFIXES.get(family.type, ("",))}


def test_the_dashboard_is_importable_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] == "papermail" and dashboard["uid"]
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}" and target["expr"]


def test_every_query_names_a_served_series_and_the_figures_that_matter_are_charted(tmp_path: Path) -> None:
    by_panel = queries(json.loads(DASHBOARD.read_text()))
    assert all(by_panel.values()), [title for title, exprs in by_panel.items() if not exprs]
    named = {name for exprs in by_panel.values() for expr in exprs for name in SERIES.findall(expr)}
    assert named - served_series(tmp_path) == set()
    assert {
        "papermail_digests_sent_total", "papermail_digests_failed_total", "papermail_digests_skipped_total",
        "papermail_deliveries_waiting", "papermail_deliveries_due", "papermail_bounces_total",
        "papermail_papers_ingested_total", "papermail_source_last_success_age_seconds",
        "papermail_relay_breaker_state", "papermail_http_requests_total", "papermail_http_request_seconds_bucket",
    } <= named
    failed = next(exprs for title, exprs in by_panel.items() if "failed" in title.lower())
    assert "by (reason_class)" in failed[0]
