"""`papermail dkim keygen` in a real process; its key and record checked with openssl and OpenDKIM."""

from __future__ import annotations

import base64
import re
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.settings import Settings
from service.cli.dkim import KeyKind, check_bits
from service.cli.errors import UsageError
from service.mail import Composer
from service.mail.message import Unsubscribe
from tests.conftest import make_settings, skip_or_fail
from tests.support.cli import run_cli
from tests.support.dkim import DkimKey, opendkim_available, opendkim_verify

pytestmark = pytest.mark.integration
RECORD = re.compile(r'(?P<selector>[\w-]+)\._domainkey\.(?P<domain>[\w.-]+) IN TXT (?P<strings>(?:"[^"]*" ?)+)')


def settings_for(tmp_path: Path, **dkim: object) -> Settings:
    return make_settings(tmp_path / "var", mail_from="Papermail <digest@news.papermail.test>", **dkim)


def parse_record(stdout: str) -> tuple[str, str, list[str]]:
    """Selector, domain and the quoted strings of the one TXT line on stdout."""
    [line] = stdout.splitlines()
    match = RECORD.fullmatch(line.strip())
    assert match, line
    return match["selector"], match["domain"], re.findall(r'"([^"]*)"', match["strings"])


def openssl_public_der(private_key: Path) -> bytes:
    return subprocess.run(["openssl", "pkey", "-in", str(private_key), "-pubout", "-outform", "DER"],
                          check=True, capture_output=True).stdout  # fmt: skip


def test_keygen_writes_a_private_2048_bit_key_where_the_settings_say_and_prints_its_record(tmp_path: Path) -> None:
    key_path = tmp_path / "secrets" / "dkim.pem"
    settings = settings_for(
        tmp_path, dkim_domain="papermail.test", dkim_selector="pm2026", dkim_private_key_path=key_path
    )

    result = run_cli(settings, "dkim", "keygen")

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    selector, domain, strings = parse_record(result.stdout)
    assert (selector, domain) == ("pm2026", "papermail.test")
    assert all(len(s) <= 255 for s in strings) and len(strings) == 2  # a 2048-bit record is ~410 octets
    value = "".join(strings)
    assert value == "v=DKIM1; k=rsa; p=" + base64.b64encode(openssl_public_der(key_path)).decode()
    command = ["openssl", "rsa", "-in", str(key_path), "-noout", "-text"]
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    assert "Private-Key: (2048 bit" in text
    assert f"PAPERMAIL_DKIM_PRIVATE_KEY_PATH={key_path}" in result.stderr


def test_a_message_signed_with_the_new_key_verifies_against_the_printed_record(tmp_path: Path) -> None:
    if not opendkim_available():
        skip_or_fail("opendkim is not installed (Debian: opendkim)")
    key_path = tmp_path / "dkim.pem"
    result = run_cli(settings_for(tmp_path), "dkim", "keygen", "--bits", "3072", "--out", str(key_path),
                     "--selector", "big", "--domain", "papermail.test")  # fmt: skip
    assert result.returncode == 0, result.stderr
    selector, domain, strings = parse_record(result.stdout)

    signing = settings_for(tmp_path, dkim_domain=domain, dkim_selector=selector, dkim_private_key_path=key_path)
    mail = Composer.from_settings(signing).compose(
        to_address="alice@example.com", subject="Papers", text="Three papers.\n", html="<p>Three papers.</p>",
        message_key="k", unsubscribe=Unsubscribe("https://papermail.test/unsubscribe/t", "t"),
        date=datetime(2026, 11, 27, tzinfo=UTC),
    )  # fmt: skip
    [verdicts] = opendkim_verify([mail.data], [DkimKey(key_path, "".join(strings).encode(), selector)], domain)
    assert [(v.result, v.algorithm) for v in verdicts] == [("pass", "rsa-sha256")]


def test_keygen_ed25519_prints_the_raw_public_key(tmp_path: Path) -> None:
    rsa = {"dkim_domain": "papermail.test", "dkim_selector": "rsa1", "dkim_private_key_path": tmp_path / "rsa.pem"}
    settings = settings_for(tmp_path, **rsa)

    result = run_cli(settings, "dkim", "keygen", "--type", "ed25519", "--selector", "ed1")

    assert result.returncode == 0, result.stderr
    key_path = settings.data_dir / "dkim" / "ed25519.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    selector, domain, [value] = parse_record(result.stdout)
    assert (selector, domain) == ("ed1", "papermail.test")
    assert value == "v=DKIM1; k=ed25519; p=" + base64.b64encode(openssl_public_der(key_path)[-32:]).decode()


def test_without_dkim_settings_the_record_names_the_from_domain_and_a_placeholder_selector(tmp_path: Path) -> None:
    result = run_cli(settings_for(tmp_path), "dkim", "keygen")

    assert result.returncode == 0, result.stderr
    selector, domain, _ = parse_record(result.stdout)
    assert (selector, domain) == ("SELECTOR", "news.papermail.test")
    assert "--selector" in result.stderr
    assert (tmp_path / "var" / "dkim" / "rsa.pem").is_file()


def test_a_key_under_2048_bits_is_refused_in_one_line_with_exit_2_and_no_file(tmp_path: Path) -> None:
    result = run_cli(settings_for(tmp_path), "dkim", "keygen", "--bits", "1024")

    assert result.returncode == 2
    assert result.stderr == "papermail: --bits 1024: RSA keys shorter than 2048 bits are refused (RFC 8301)\n"
    assert result.stdout == "" and not (tmp_path / "var" / "dkim").exists()


@pytest.mark.parametrize(
    ("kind", "bits", "message"),
    [(KeyKind.rsa, 8192, "--bits 8192: at most 4096"), (KeyKind.ed25519, 2048, "--bits is for RSA keys")],
)
def test_other_sizes_are_refused_before_any_key_is_made(kind: KeyKind, bits: int, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_bits(kind, bits)
    assert check_bits(KeyKind.rsa, None) == 2048 and check_bits(KeyKind.ed25519, None) == 256


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    existing = tmp_path / "dkim.pem"
    existing.write_text("the key in DNS today\n")

    result = run_cli(settings_for(tmp_path), "dkim", "keygen", "--out", str(existing))

    assert result.returncode == 2
    assert result.stderr.startswith(f"papermail: {existing} exists") and result.stderr.count("\n") == 1
    assert existing.read_text() == "the key in DNS today\n"
