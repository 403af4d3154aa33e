"""DKIM keys made at test time (the openssl command, not the code under test), and verifiers.

Two verifiers share no code with papermail's signer: Perl's Mail::DKIM (Debian's
libmail-dkim-perl; RSA only in Debian 12's version) and OpenDKIM's library through the
``opendkim`` filter's test mode (Debian's opendkim; RSA and Ed25519). Each is handed the
public keys locally: Mail::DKIM through a resolver object that answers from a table, OpenDKIM
through its ``TestPublicKeys`` file. dkimpy (``DkimKey.dnsfunc``) remains for fast checks.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SENDER_DOMAIN = "papermail.test"
SELECTOR = "s2026"
ED25519_SELECTOR = "e2026"


@dataclass(frozen=True)
class DkimKey:
    private_key_path: Path
    txt_record: bytes  # what DNS would publish at SELECTOR._domainkey.DOMAIN
    selector: str = SELECTOR

    def dns_name(self, domain: str = SENDER_DOMAIN) -> str:
        return f"{self.selector}._domainkey.{domain}"

    def dnsfunc(self, domain: str = SENDER_DOMAIN, selector: str | None = None) -> Callable[..., bytes | None]:
        """A dkimpy ``dnsfunc`` that knows this key only."""
        expected = f"{selector or self.selector}._domainkey.{domain}.".encode()

        def lookup(name: bytes, timeout: int = 5) -> bytes | None:
            return self.txt_record if name == expected else None

        return lookup


def _openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


def make_dkim_key(directory: Path, selector: str = SELECTOR, bits: int = 2048) -> DkimKey:
    """A fresh RSA key and its TXT record, both from openssl."""
    private = directory / f"{selector}.rsa.pem"
    _openssl("genrsa", "-out", str(private), str(bits))
    der = _openssl("rsa", "-in", str(private), "-pubout", "-outform", "DER")
    return DkimKey(private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der), selector)


def make_ed25519_key(directory: Path, selector: str = ED25519_SELECTOR) -> DkimKey:
    """A fresh Ed25519 key; RFC 8463's p= is the raw 32-byte key, the tail of openssl's DER."""
    private = directory / f"{selector}.ed25519.pem"
    _openssl("genpkey", "-algorithm", "ed25519", "-out", str(private))
    der = _openssl("pkey", "-in", str(private), "-pubout", "-outform", "DER")
    return DkimKey(private, b"v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]), selector)


@dataclass(frozen=True)
class Verdict:
    """One signature's outcome as an independent verifier reports it."""

    result: str  # "pass", "fail", "invalid", ...
    algorithm: str
    selector: str


def results_by_algorithm(verdicts: Sequence[Verdict]) -> dict[str, str]:
    return {v.algorithm: v.result for v in verdicts}


# -- Perl's Mail::DKIM ---------------------------------------------------------------------------
_MAIL_DKIM_SCRIPT = r"""
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Net::DNS;

# Stands in for Net::DNS::Resolver (Mail::DKIM::DNS calls send and errorstring): answers TXT
# queries from the table given on the command line, NXDOMAIN for anything else.
package LocalKeys;
sub new { my ($class, %keys) = @_; return bless { keys => \%keys }, $class; }
sub errorstring { return 'NOERROR'; }
sub send {
    my ($self, $name, $type) = @_;
    my $packet = Net::DNS::Packet->new($name, $type);
    $packet->header->qr(1);
    my $record = $self->{keys}{lc $name};
    if (defined $record && $type eq 'TXT') {
        my @strings = unpack('(a255)*', $record);
        $packet->push(answer => Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => [@strings]));
    } else {
        $packet->header->rcode('NXDOMAIN');
    }
    return $packet;
}

package main;
my %keys;
open(my $table, '<', shift @ARGV) or die "keys: $!";
while (my $line = <$table>) { chomp $line; my ($name, $record) = split /\t/, $line, 2; $keys{lc $name} = $record; }
Mail::DKIM::DNS::resolver(LocalKeys->new(%keys));
foreach my $path (@ARGV) {
    open(my $message, '<:raw', $path) or die "$path: $!";
    my $dkim = Mail::DKIM::Verifier->new();
    while (read($message, my $chunk, 65536)) { $dkim->PRINT($chunk); }
    $dkim->CLOSE();
    foreach my $signature ($dkim->signatures) {
        printf "%s\t%s\t%s\t%s\n", $path, $signature->result, $signature->algorithm, $signature->selector;
    }
}
"""


def mail_dkim_available() -> bool:
    return shutil.which("perl") is not None and subprocess.run(
        ["perl", "-MMail::DKIM::Verifier", "-MNet::DNS", "-e", "1"], capture_output=True
    ).returncode == 0


def _key_table(directory: Path, keys: Sequence[DkimKey], domain: str, separator: str) -> Path:
    table = directory / "keys"
    table.write_text("".join(f"{key.dns_name(domain)}{separator}{key.txt_record.decode()}\n" for key in keys))
    return table


def _message_files(directory: Path, messages: Sequence[bytes]) -> list[Path]:
    paths = [directory / f"message{i}.eml" for i in range(len(messages))]
    for path, data in zip(paths, messages, strict=True):
        path.write_bytes(data)
    return paths


def mail_dkim_verify(
    messages: Sequence[bytes], keys: Sequence[DkimKey], domain: str = SENDER_DOMAIN
) -> list[list[Verdict]]:
    """Mail::DKIM's verdicts for each message (one perl run for all of them)."""
    with tempfile.TemporaryDirectory(prefix="mail-dkim-") as tmp:
        folder = Path(tmp)
        table = _key_table(folder, keys, domain, "\t")
        paths = _message_files(folder, messages)
        out = subprocess.run(["perl", "-e", _MAIL_DKIM_SCRIPT, str(table), *map(str, paths)],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    verdicts: dict[str, list[Verdict]] = {str(path): [] for path in paths}
    for line in out.splitlines():
        path, result, algorithm, selector = line.split("\t")
        verdicts[path].append(Verdict(result, algorithm, selector))
    return [verdicts[str(path)] for path in paths]


# -- OpenDKIM --------------------------------------------------------------------------------------
# One Authentication-Results entry per signature, as opendkim -t -vv prints it.
_OPENDKIM_RESULT = re.compile(r"dkim=(\w+)[^;]*?header\.a=([\w-]+) header\.s=(\S+)")


def opendkim_available() -> bool:
    return shutil.which("opendkim") is not None


def opendkim_verify(
    messages: Sequence[bytes], keys: Sequence[DkimKey], domain: str = SENDER_DOMAIN
) -> list[list[Verdict]]:
    """OpenDKIM's verdicts for each message: ``opendkim -t`` (its test mode), keys from a file."""
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="opendkim-") as tmp:
        folder = Path(tmp)
        table = _key_table(folder, keys, domain, " ")
        config = folder / "opendkim.conf"
        config.write_text(f"Mode v\nSyslog no\nTestPublicKeys {table}\n")
        for path in _message_files(folder, messages):
            # One file a run (~20 ms): the verdicts it prints do not name their file.
            command = ["opendkim", "-x", str(config), "-t", str(path), "-vv"]
            run = subprocess.run(command, capture_output=True, text=True)
            output = run.stdout + run.stderr
            if "hname='Authentication-Results'" not in output:
                raise RuntimeError(f"opendkim -t gave no verdict:\n{output}")
            header = output.split("hname='Authentication-Results'", 1)[1]
            verdicts.append([Verdict(*match) for match in _OPENDKIM_RESULT.findall(header.split("dkim-atps", 1)[0])])
    return verdicts
