"""`papermail check [--connect]`: each broken rule fails with its own line, a good production
configuration passes and prints the DNS records to publish, and in production the worker and beat
refuse to start while a rule fails (unless CHECK_ACKNOWLEDGE says it is deliberate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from service.admin.deploy_checks import DkimKeys, evaluate, read_dkim_keys, start_refusal
from service.cli.check import probe_smtp
from tests.conftest import make_settings
from tests.support.cli import run_cli
from tests.support.dkim import DkimKey, make_dkim_key
from tests.support.processes import free_port
from tests.support.smtp_sink import SmtpSink

SECRET = "q8J2vN4xW1zR7tL0pY6sK3mH9cB5dF2gA8eU4iO1"


@pytest.fixture
def good(tmp_path: Path, dkim_key: DkimKey) -> Settings:
    """A production configuration that meets every rule."""
    return make_settings(
        tmp_path / "var",
        environment="production",
        secret_key=SECRET,
        base_url="https://papers.acme-research.org",
        mail_backend="smtp",
        smtp_host="smtp.acme-research.org",
        mail_from="Acme Papers <digest@papers.acme-research.org>",
        bounce_domain="bounces.acme-research.org",
        dkim_domain="acme-research.org",
        dkim_selector="s2026",
        dkim_private_key_path=dkim_key.private_key_path,
        postal_address="Acme Research, 12 Harbour Road, 4051 Basel, Switzerland",
    )


def failed_rules(settings: Settings) -> list[str]:
    return [f.rule for f in evaluate(settings, read_dkim_keys(settings)).failures]


def test_a_good_production_configuration_passes_and_prints_its_records(good: Settings, dkim_key: DkimKey) -> None:
    result = run_cli(good, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout and "all 7 rules hold" in result.stderr
    lines = result.stdout.splitlines()
    dkim = next(line for line in lines if "s2026._domainkey.acme-research.org IN TXT" in line)
    # The record's key is the one openssl made (joined across DNS's 255-octet strings).
    assert dkim_key.txt_record.decode().split("p=")[1] in "".join(dkim.split('"')[1::2])
    assert any('bounces.acme-research.org IN TXT "v=spf1 a:smtp.acme-research.org ~all"' in line for line in lines)
    assert any("_dmarc.papers.acme-research.org IN TXT \"v=DMARC1; p=none" in line for line in lines)
    assert any(line.startswith("route: bounces+*@bounces.acme-research.org and unsubscribe@papers.acme-research.org")
               for line in lines)
    assert start_refusal(good, "worker") is None


@pytest.mark.parametrize(("override", "rule"), [
    ({"base_url": "http://papers.acme-research.org"}, "https-base-url"),
    ({"base_url": "https://127.0.0.1:8000"}, "https-base-url"),
    ({"mail_backend": "outbox"}, "mail-backend"),
    ({"mail_from": "Acme <digest@papermail.localhost>", "bounce_domain": "", "dkim_domain": "papermail.localhost"},
     "sender-domain"),
    ({"dkim_domain": "other-company.net"}, "domains-aligned"),
    ({"bounce_domain": "bounces.mailer-service.com"}, "domains-aligned"),
    ({"dkim_domain": "", "dkim_selector": "", "dkim_private_key_path": None}, "dkim-key"),
    ({"postal_address": Settings.model_fields["postal_address"].default}, "postal-address"),
    ({"postal_address": "  "}, "postal-address"),
    ({"secret_key": "short-secret-0123"}, "secret-key"),
    ({"secret_key": "ab" * 30}, "secret-key"),
    ({"check_acknowledge": "postal-adress"}, "check-acknowledge"),
])
def test_each_broken_rule_fails_alone(good: Settings, override: dict[str, object], rule: str) -> None:
    assert failed_rules(good.model_copy(update=override)) == [rule]


def test_a_short_or_unreadable_dkim_key_fails(good: Settings, tmp_path: Path) -> None:
    short = make_dkim_key(tmp_path, "short", bits=1024)
    assert failed_rules(good.model_copy(update={"dkim_private_key_path": short.private_key_path})) == ["dkim-key"]
    [finding] = evaluate(good, DkimKeys(error="cannot read PAPERMAIL_DKIM_PRIVATE_KEY_PATH /x: No such file")).failures
    assert finding.rule == "dkim-key" and "/x" in finding.message


def test_development_is_not_held_to_production_rules(good: Settings) -> None:
    dev = good.model_copy(update={"environment": "development", "base_url": "http://127.0.0.1:8000",
                                  "mail_backend": "outbox"})
    assert failed_rules(dev) == []
    assert start_refusal(dev.model_copy(update={"postal_address": ""}), "worker") is None


def test_broken_rules_are_one_line_each_and_exit_2(good: Settings) -> None:
    broken = good.model_copy(update={"base_url": "http://papers.acme-research.org", "postal_address": "",
                                     "dkim_domain": "other-company.net"})
    result = run_cli(broken, "check")
    assert result.returncode == 2
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    assert [line.split(":")[0] for line in fails] == ["FAIL https-base-url", "FAIL domains-aligned",
                                                      "FAIL postal-address"]
    assert "PAPERMAIL_BASE_URL" in fails[0] and "other-company.net" in fails[1]
    assert "3 rule(s) failed" in result.stderr and "Traceback" not in result.stderr


def test_an_acknowledged_rule_is_reported_but_passes(good: Settings) -> None:
    placeholder = good.model_copy(update={"postal_address": "", "check_acknowledge": "postal-address"})
    result = run_cli(placeholder, "check")
    assert result.returncode == 0, result.stdout
    assert any(line.startswith("ACK postal-address:") for line in result.stdout.splitlines())
    assert start_refusal(placeholder, "beat") is None


@pytest.mark.integration
def test_connect_talks_to_the_relay(good: Settings, smtp_sink: SmtpSink) -> None:
    reachable = good.model_copy(update=smtp_sink.settings_overrides())
    assert probe_smtp(reachable) is None
    result = run_cli(reachable, "check", "--connect")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 8 rules hold" in result.stderr

    closed = good.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_timeout_seconds": 5})
    result = run_cli(closed, "check", "--connect")
    assert result.returncode == 2
    [line] = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert line.startswith("FAIL smtp-reachable: the SMTP relay 127.0.0.1:") and "at connect" in line
    starttls = reachable.model_copy(update={"smtp_security": "starttls"})
    finding = probe_smtp(starttls)
    assert finding is not None and "at STARTTLS" in finding.message  # the sink offers no STARTTLS


@pytest.mark.parametrize("role", ["worker", "beat"])
def test_in_production_worker_and_beat_refuse_to_start_while_a_rule_fails(good: Settings, role: str) -> None:
    broken = good.model_copy(update={"base_url": "http://papers.acme-research.org"})
    result = run_cli(broken, role, timeout=60)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line and f"refusing to start the {role} in production" in line
    assert "https-base-url" in line and "PAPERMAIL_CHECK_ACKNOWLEDGE" in line
