"""A DKIM key pair made at test time (openssl), and the DNS answer a verifier needs."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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


def make_dkim_key(directory: Path) -> DkimKey:
    """A fresh 2048-bit RSA key (the cryptography package is not a dependency; openssl is)."""
    private = directory / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    return DkimKey(private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der))
