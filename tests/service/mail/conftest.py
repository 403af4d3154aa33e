"""Fixtures for the mail tests: a DKIM key pair made at test time, a composer, a TCP relay."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.settings import Settings
from service.mail import Composer, clear_memory_outbox
from tests.conftest import make_settings
from tests.service.mail.tcp_proxy import TcpProxy
from tests.support.smtp_sink import SmtpSink

SENDER_DOMAIN = "papermail.test"
SELECTOR = "s2026"


@dataclass(frozen=True)
class DkimKey:
    private_key_path: Path
    txt_record: bytes  # what DNS would publish at SELECTOR._domainkey.DOMAIN

    def dnsfunc(self, domain: str = SENDER_DOMAIN, selector: str = SELECTOR) -> Callable[..., bytes | None]:
        expected = f"{selector}._domainkey.{domain}.".encode()

        def lookup(name: bytes, timeout: int = 5) -> bytes | None:
            return self.txt_record if name == expected else None

        return lookup


@pytest.fixture(scope="session")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> DkimKey:
    """A fresh 2048-bit RSA key (openssl; the cryptography package is not installed)."""
    directory = tmp_path_factory.mktemp("dkim")
    private = directory / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    return DkimKey(private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der))


@pytest.fixture
def mail_settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path / "var",
        mail_from="Papermail Digest <digest@papermail.test>",
        base_url="https://papermail.test",
    )


@pytest.fixture
def dkim_settings(tmp_path: Path, dkim_key: DkimKey) -> Settings:
    return make_settings(
        tmp_path / "var",
        mail_from="Papermail Digest <digest@papermail.test>",
        base_url="https://papermail.test",
        dkim_domain=SENDER_DOMAIN,
        dkim_selector=SELECTOR,
        dkim_private_key_path=dkim_key.private_key_path,
    )


@pytest.fixture
def composer(mail_settings: Settings) -> Composer:
    return Composer.from_settings(mail_settings)


@pytest.fixture(autouse=True)
def _empty_memory_outbox() -> Iterator[None]:
    clear_memory_outbox()
    yield
    clear_memory_outbox()


@pytest.fixture
def proxied_sink(smtp_sink: SmtpSink) -> Iterator[TcpProxy]:
    proxy = TcpProxy(smtp_sink.host, smtp_sink.port)
    yield proxy
    proxy.close()
