"""Fixtures for the mail tests: a DKIM key pair made at test time, a composer, a TCP relay."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from service.mail import Composer
from tests.conftest import make_settings
from tests.service.mail.tcp_proxy import TcpProxy
from tests.support.dkim import SELECTOR, SENDER_DOMAIN, DkimKey
from tests.support.smtp_sink import SmtpSink


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



@pytest.fixture
def proxied_sink(smtp_sink: SmtpSink) -> Iterator[TcpProxy]:
    proxy = TcpProxy(smtp_sink.host, smtp_sink.port)
    yield proxy
    proxy.close()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write the client makes on its socket, in order."""
    seen: list[bytes] = []
    original = smtplib.SMTP.send

    def send(self: smtplib.SMTP, s: bytes | str) -> None:
        seen.append(s if isinstance(s, bytes) else s.encode())
        original(self, s)

    monkeypatch.setattr(smtplib.SMTP, "send", send)
    return seen
