"""STARTTLS, implicit TLS and AUTH against aiosmtpd with a certificate made at test time."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from service.mail import Composer, DeliveryError, SmtpBackend
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

USER, PASSWORD = "mailer", "s3cret-pass"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def tls_sink(certificate: tuple[Path, Path]) -> Iterator[Callable[..., SmtpSink]]:
    started: list[SmtpSink] = []
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*certificate)

    def start(mode: str) -> SmtpSink:
        sink = SmtpSink()
        tls: dict[str, Any] = (
            {"ssl_context": server_context} if mode == "ssl" else {"tls_context": server_context, "require_starttls": True}
        )
        sink.controller_options = {
            **tls,
            "authenticator": authenticate,
            # aiosmtpd counts only STARTTLS as TLS, so with implicit TLS it would hide AUTH.
            "auth_require_tls": mode == "starttls",
        }
        sink.start()
        started.append(sink)
        return sink

    yield start
    for sink in started:
        sink.stop()


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def send_one(backend: SmtpBackend, composer: Composer) -> bytes:
    mail = composer.compose(to_address="alice@example.com", subject="s", text="t", html="h", message_key="k")
    try:
        backend.send(mail.envelope_from, mail.to, mail.data)
    finally:
        backend.close()
    return mail.data


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_and_login_deliver(
    mode: str, tls_sink: Callable[..., SmtpSink], certificate: tuple[Path, Path], mail_settings: Settings
) -> None:
    sink = tls_sink(mode)
    settings = mail_settings.model_copy(
        update={"smtp_port": sink.port, "smtp_security": mode, "smtp_username": USER, "smtp_password": PASSWORD}
    )
    backend = SmtpBackend.from_settings(settings)
    backend.ssl_context = client_context(certificate)

    data = send_one(backend, Composer.from_settings(settings))

    assert [m.data for m in sink.wait_for(1)] == [data]


def test_wrong_password_is_transient_not_a_bounce(
    tls_sink: Callable[..., SmtpSink], certificate: tuple[Path, Path], composer: Composer
) -> None:
    sink = tls_sink("starttls")
    backend = SmtpBackend(
        host="127.0.0.1", port=sink.port, security="starttls", username=USER, password="wrong", timeout=5,
        ssl_context=client_context(certificate),
    )  # fmt: skip
    with pytest.raises(DeliveryError) as caught:
        send_one(backend, composer)
    assert (caught.value.permanent, caught.value.hard_bounce, caught.value.code) == (False, False, 535)


def test_an_untrusted_certificate_is_refused(tls_sink: Callable[..., SmtpSink], composer: Composer) -> None:
    sink = tls_sink("starttls")
    backend = SmtpBackend(host="127.0.0.1", port=sink.port, security="starttls", timeout=5)  # system CAs only
    with pytest.raises(DeliveryError, match="SSLCertVerificationError") as caught:
        send_one(backend, composer)
    assert caught.value.permanent is False and sink.messages == []


def test_a_server_requiring_starttls_refuses_plain_text(tls_sink: Callable[..., SmtpSink], composer: Composer) -> None:
    sink = tls_sink("starttls")
    backend = SmtpBackend(host="127.0.0.1", port=sink.port, security="none", timeout=5)
    with pytest.raises(DeliveryError) as caught:
        send_one(backend, composer)
    assert caught.value.code == 530 and sink.messages == []
