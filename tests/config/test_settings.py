"""Settings: defaults, environment, and one clear line for a bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import DEFAULT_SECRET_KEY, Settings, SettingsError, load_settings

EXAMPLE_ENV = Path(__file__).resolve().parents[2] / "config" / "example.env"


def test_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.environment == "development"
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'var' / 'papermail.sqlite3'}"
    assert settings.broker_is_embedded
    assert settings.mail_backend == "outbox"
    assert settings.outbox_dir == tmp_path / "var" / "outbox"
    assert [s.name for s in settings.sources] == ["hf-daily", "arxiv-ai-lg-cl"]


def test_environment_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERMAIL_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("PAPERMAIL_SEND_RATE_PER_SECOND", "12.5")
    settings = load_settings()
    assert not settings.broker_is_embedded
    assert settings.effective_result_backend == "redis://127.0.0.1:6379/0"
    assert settings.send_rate_per_second == 12.5


def test_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PAPERMAIL_MAIL_BACKEND=console\nPAPERMAIL_BASE_URL=https://papers.example.org/\n")
    settings = load_settings()
    assert settings.mail_backend == "console"
    assert settings.base_url == "https://papers.example.org"


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("PAPERMAIL_SEND_RATE_PER_SECOND", "-1", "PAPERMAIL_SEND_RATE_PER_SECOND"),
        ("PAPERMAIL_MAIL_BACKEND", "pigeon", "PAPERMAIL_MAIL_BACKEND"),
        ("PAPERMAIL_DATABASE_URL", "mysql://root@localhost/x", "PAPERMAIL_DATABASE_URL"),
        ("PAPERMAIL_BROKER_URL", "kafka://x", "PAPERMAIL_BROKER_URL"),
        ("PAPERMAIL_BASE_URL", "not a url", "PAPERMAIL_BASE_URL"),
        ("PAPERMAIL_SMTP_PORT", "seventy", "PAPERMAIL_SMTP_PORT"),
        ("PAPERMAIL_DEFAULT_TIMEZONE", "Mars/Olympus", "PAPERMAIL_DEFAULT_TIMEZONE"),
        ("PAPERMAIL_ENVIRONMENT", "production", "PAPERMAIL_SECRET_KEY"),
    ],
)
def test_bad_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert named in message
    assert "\n" not in message


def test_default_secret_refused_outside_development() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(environment="production")
    assert load_settings(environment="production", secret_key="x" * 40).secret_key == "x" * 40
    assert load_settings(environment="development").secret_key == DEFAULT_SECRET_KEY


def test_example_env_lists_every_setting() -> None:
    listed = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in EXAMPLE_ENV.read_text().splitlines()
        if "=" in line and line.lstrip("# ").startswith("PAPERMAIL_")
    }
    expected = {f"PAPERMAIL_{name.upper()}" for name in Settings.model_fields}
    assert expected == listed


def test_cli_bad_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PAPERMAIL_SMTP_SECURITY": "tls-please"}
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "db", "upgrade"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "PAPERMAIL_SMTP_SECURITY" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()  # refused before touching anything
