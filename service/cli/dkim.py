"""`papermail dkim keygen`: make a DKIM signing key and print the DNS record that publishes it."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

import typer

from config.settings import Settings, get_settings
from service.cli.errors import UsageError
from service.mail.dkim_keys import (
    MAX_NEW_RSA_BITS,
    MIN_NEW_RSA_BITS,
    generate_key,
    key_bits,
    private_key_pem,
    txt_record_line,
)
from service.mail.message import MessageError, SenderIdentity

app = typer.Typer(help="DKIM signing keys.", no_args_is_help=True)


class KeyKind(str, Enum):
    rsa = "rsa"
    ed25519 = "ed25519"


def write_private_file(path: Path, data: bytes) -> None:
    """Create PATH with mode 0600 from the start (never briefly world-readable); never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} exists; a key that may be in use is never overwritten (move it, or --out)") from None
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def check_bits(kind: KeyKind, bits: int | None) -> int:
    if kind is KeyKind.ed25519:
        if bits is not None:
            raise UsageError("--bits is for RSA keys; an Ed25519 key is always 256 bits")
        return 256
    bits = MIN_NEW_RSA_BITS if bits is None else bits
    if bits < MIN_NEW_RSA_BITS:
        raise UsageError(f"--bits {bits}: RSA keys shorter than {MIN_NEW_RSA_BITS} bits are refused (RFC 8301)")
    if bits > MAX_NEW_RSA_BITS:
        raise UsageError(
            f"--bits {bits}: at most {MAX_NEW_RSA_BITS} (larger keys sign slowly and overflow DNS providers' forms)"
        )
    return bits


def default_out(settings: Settings, kind: KeyKind) -> Path:
    if kind is KeyKind.rsa:
        return settings.dkim_private_key_path or settings.data_dir / "dkim" / "rsa.pem"
    return settings.dkim_ed25519_private_key_path or settings.data_dir / "dkim" / "ed25519.pem"


def record_names(settings: Settings, kind: KeyKind, selector: str | None, domain: str | None) -> tuple[str, str]:
    """Selector and domain for the record: the options, else the DKIM settings, else the From domain."""
    configured = settings.dkim_selector if kind is KeyKind.rsa else settings.dkim_ed25519_selector
    selector = selector or configured or "SELECTOR"
    if not domain:
        try:
            domain = settings.dkim_domain or SenderIdentity.from_settings(settings).domain
        except MessageError:
            domain = "DOMAIN"
    return selector, domain


@app.command("keygen")
def keygen(
    bits: int = typer.Option(None, "--bits", help=f"RSA key size, {MIN_NEW_RSA_BITS} (default) to {MAX_NEW_RSA_BITS}."),
    out: Path = typer.Option(
        None, "--out", dir_okay=False, help="Private key file (default: its path setting, or DATA_DIR/dkim/TYPE.pem)."
    ),
    kind: KeyKind = typer.Option(KeyKind.rsa, "--type", help="rsa, or ed25519 for a second signature (RFC 8463)."),
    selector: str = typer.Option(None, "--selector", help="Selector in the record (default: the selector setting)."),
    domain: str = typer.Option(None, "--domain", help="Domain in the record (default: DKIM_DOMAIN, else MAIL_FROM's)."),
) -> None:
    """Write a new private key (mode 0600) and print the TXT record to publish for it."""
    size = check_bits(kind, bits)
    settings = get_settings()
    path = out or default_out(settings, kind)
    key = generate_key(kind.value, size)
    write_private_file(path, private_key_pem(key))
    name, zone = record_names(settings, kind, selector, domain)
    # The record alone on stdout, so `papermail dkim keygen > record.txt` keeps just that.
    typer.echo(txt_record_line(key, name, zone))
    setting = "PAPERMAIL_DKIM_PRIVATE_KEY_PATH" if kind is KeyKind.rsa else "PAPERMAIL_DKIM_ED25519_PRIVATE_KEY_PATH"
    typer.echo(f"wrote a {key_bits(key)}-bit {kind.value} private key to {path} (mode 0600); publish the TXT record, "
               f"then set {setting}={path.resolve()}", err=True)
    if name == "SELECTOR" or zone == "DOMAIN":
        typer.echo("replace SELECTOR/DOMAIN in the record with your DKIM selector and domain (--selector, --domain)",
                   err=True)
