"""The bulk-sender and deployment rules `papermail check` applies, as pure functions of Settings
(and of the DKIM key, read once by ``read_dkim_keys``).

Gmail's and Yahoo's bulk-sender rules (2024) want mail authenticated by SPF and DKIM, a From
domain that DMARC aligns with both, a published DMARC record, one-click unsubscribe (RFC 8058,
which needs an https URL), and a postal address; papermail also needs a real secret and a mail
backend that sends. Each rule that fails is one ``Finding``; a rule named in CHECK_ACKNOWLEDGE
is reported but does not fail (in production the worker and beat start despite it).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from config.settings import DEFAULT_SECRET_KEY, Settings
from service.inbound.addresses import UNSUBSCRIBE_LOCAL_PART
from service.inbound.verp import BOUNCE_LOCAL_PART, bounce_domain
from service.mail.dkim_keys import (
    MIN_NEW_RSA_BITS,
    DkimKeyError,
    PrivateKey,
    key_bits,
    key_type,
    read_private_key,
    txt_record_line,
)
from service.mail.message import MessageError, SenderIdentity

RULES = (
    "https-base-url", "mail-backend", "sender-domain", "domains-aligned", "dkim-key", "postal-address",
    "secret-key", "smtp-reachable",
)
ACKNOWLEDGE_RULE = "check-acknowledge"  # an unknown name in CHECK_ACKNOWLEDGE; never acknowledged itself
MIN_SECRET_CHARS = 32
MIN_SECRET_DISTINCT = 10
PLACEHOLDER_POSTAL_ADDRESS = str(Settings.model_fields["postal_address"].default)
# Names that never receive mail from the internet (RFC 2606, 6761, 6762, 8375).
RESERVED_SUFFIXES = ("localhost", "test", "example", "invalid", "local", "internal", "lan", "home.arpa",
                     "example.com", "example.net", "example.org")


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str  # what is wrong and what to do, on one line


@dataclass(frozen=True)
class DkimKeys:
    """The configured DKIM keys as read: None when not configured, or the error reading them gave."""

    rsa: PrivateKey | None = None
    ed25519: PrivateKey | None = None
    error: str | None = None


@dataclass
class DeployReport:
    failures: list[Finding] = field(default_factory=list)
    acknowledged: list[Finding] = field(default_factory=list)
    records: list[str] = field(default_factory=list)  # DNS records to publish
    checked: int = 0  # rules applied

    @property
    def ok(self) -> bool:
        return not self.failures


def read_dkim_keys(settings: Settings) -> DkimKeys:
    """The one read from disk: the DKIM key files named in the settings."""
    if not settings.dkim_enabled or settings.dkim_private_key_path is None:
        return DkimKeys()
    try:
        rsa = read_private_key(settings.dkim_private_key_path)
        ed25519 = None
        if settings.dkim_ed25519_private_key_path is not None:
            ed25519 = read_private_key(settings.dkim_ed25519_private_key_path,
                                       setting="PAPERMAIL_DKIM_ED25519_PRIVATE_KEY_PATH")
    except DkimKeyError as exc:
        return DkimKeys(error=str(exc))
    return DkimKeys(rsa, ed25519)


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list ships with the package: no network


def organizational_domain(domain: str) -> str:
    """DMARC's organizational domain (RFC 7489 3.2): the public suffix plus one label."""
    return _suffixes().privatesuffix(domain.lower()) or domain.lower()


def is_reserved(domain: str) -> bool:
    domain = domain.lower().rstrip(".")
    return any(domain == s or domain.endswith("." + s) for s in RESERVED_SUFFIXES)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _from_domain(settings: Settings) -> str | None:
    try:
        return SenderIdentity.from_settings(settings).domain
    except MessageError:
        return None


def check_base_url(settings: Settings) -> Finding | None:
    if settings.environment != "production":
        return None
    parts = urlsplit(settings.base_url)
    if parts.scheme != "https":
        return Finding("https-base-url", f"PAPERMAIL_BASE_URL is {settings.base_url}: in production it must be "
                                         "https (RFC 8058's one-click unsubscribe link goes in every List-Unsubscribe)")
    if _is_loopback(parts.hostname or ""):
        return Finding("https-base-url", f"PAPERMAIL_BASE_URL {settings.base_url} points at this machine: "
                                         "readers could not open the links in their mail")
    return None


def check_mail_backend(settings: Settings) -> Finding | None:
    if settings.environment == "production" and settings.mail_backend != "smtp":
        return Finding("mail-backend", f"PAPERMAIL_MAIL_BACKEND is {settings.mail_backend}: in production only "
                                       "smtp delivers mail; set it and PAPERMAIL_SMTP_*")
    return None


def check_sender_domain(settings: Settings) -> Finding | None:
    domain = _from_domain(settings)
    if domain is None:
        return Finding("sender-domain", f"PAPERMAIL_MAIL_FROM {settings.mail_from!r} is not an address like "
                                        "'Name <digest@example.org>'")
    if settings.environment == "production" and (is_reserved(domain) or _suffixes().privatesuffix(domain) is None):
        return Finding("sender-domain", f"PAPERMAIL_MAIL_FROM's domain {domain} cannot receive or authenticate "
                                        "mail on the internet; use a domain you own")
    return None


def check_alignment(settings: Settings) -> Finding | None:
    """DMARC passes when SPF (the MAIL FROM, i.e. BOUNCE_DOMAIN) or DKIM (d=) aligns with From;
    we want both, relaxed: the same organizational domain."""
    from_domain = _from_domain(settings)
    if from_domain is None:
        return None  # sender-domain says why
    org = organizational_domain(from_domain)
    wrong = []
    if settings.dkim_domain and organizational_domain(settings.dkim_domain) != org:
        wrong.append(f"PAPERMAIL_DKIM_DOMAIN {settings.dkim_domain}")
    bounces = bounce_domain(settings)
    if organizational_domain(bounces) != org:
        wrong.append(f"PAPERMAIL_BOUNCE_DOMAIN {bounces}")
    if not wrong:
        return None
    return Finding("domains-aligned", f"{' and '.join(wrong)} not aligned with the From domain {from_domain} "
                                      f"(DMARC needs the same organizational domain, {org})")


def check_dkim(settings: Settings, keys: DkimKeys) -> Finding | None:
    if keys.error is not None:
        return Finding("dkim-key", keys.error)
    if keys.rsa is None:
        return Finding("dkim-key", "DKIM signing is off: run `papermail dkim keygen`, publish its TXT record, and "
                                   "set PAPERMAIL_DKIM_DOMAIN, _SELECTOR and _PRIVATE_KEY_PATH")
    if key_type(keys.rsa) != "rsa":
        return Finding("dkim-key", "PAPERMAIL_DKIM_PRIVATE_KEY_PATH holds an Ed25519 key: the main signature must be "
                                   "RSA (many receivers verify only RSA); use Ed25519 as the second one")
    if key_bits(keys.rsa) < MIN_NEW_RSA_BITS:
        return Finding("dkim-key", f"the DKIM key has {key_bits(keys.rsa)} bits; use at least {MIN_NEW_RSA_BITS} "
                                   "(`papermail dkim keygen`)")
    return None


def check_postal_address(settings: Settings) -> Finding | None:
    address = " ".join(settings.postal_address.split())
    if not address or address == PLACEHOLDER_POSTAL_ADDRESS:
        return Finding("postal-address", "PAPERMAIL_POSTAL_ADDRESS is the placeholder; every digest's footer shows "
                                         "it, and bulk-sender rules (and CAN-SPAM) want your real postal address")
    return None


def check_secret_key(settings: Settings) -> Finding | None:
    secret = settings.secret_key
    if secret == DEFAULT_SECRET_KEY:
        return Finding("secret-key", "PAPERMAIL_SECRET_KEY is the development default: anyone can forge links and "
                                     "bounce addresses with it; set a long random secret")
    if len(secret) < MIN_SECRET_CHARS or len(set(secret)) < MIN_SECRET_DISTINCT:
        return Finding("secret-key", f"PAPERMAIL_SECRET_KEY is too short or too plain: use at least "
                                     f"{MIN_SECRET_CHARS} random characters (e.g. `openssl rand -base64 48`)")
    return None


def acknowledged_rules(settings: Settings) -> tuple[set[str], list[Finding]]:
    """The rule names CHECK_ACKNOWLEDGE lists, and a finding for each name that is no rule."""
    names = {n.strip() for n in settings.check_acknowledge.split(",") if n.strip()}
    unknown = sorted(names - set(RULES))
    problems = [Finding(ACKNOWLEDGE_RULE, f"PAPERMAIL_CHECK_ACKNOWLEDGE names {name!r}, which is no rule "
                                          f"(rules: {', '.join(RULES)})") for name in unknown]
    return names & set(RULES), problems


def dns_records(settings: Settings, keys: DkimKeys) -> list[str]:
    """The records this configuration needs published, as zone-file lines (suggestions to adapt)."""
    from_domain = _from_domain(settings) or "FROM-DOMAIN"
    bounces = bounce_domain(settings) or from_domain
    records = []
    if keys.rsa is not None:
        records.append(txt_record_line(keys.rsa, settings.dkim_selector, settings.dkim_domain))
    if keys.ed25519 is not None:
        records.append(txt_record_line(keys.ed25519, settings.dkim_ed25519_selector, settings.dkim_domain))
    relay = settings.smtp_host if settings.mail_backend == "smtp" and not _is_loopback(settings.smtp_host) else ""
    try:
        ip = ipaddress.ip_address(relay)
        mechanism = f"ip{ip.version}:{ip}"
    except ValueError:
        mechanism = f"a:{relay}" if relay else "include:YOUR-RELAY-SPF-DOMAIN"
    records.append(f'{bounces} IN TXT "v=spf1 {mechanism} ~all"  ; SPF for the MAIL FROM (bounce) domain; '
                   "a relay provider documents its own include:")
    records.append(f'_dmarc.{from_domain} IN TXT "v=DMARC1; p=none; rua=mailto:postmaster@{from_domain}"  ; '
                   "raise p= to quarantine once the reports show every source aligned")
    return records


def routing_hint(settings: Settings) -> str:
    from_domain = _from_domain(settings) or "FROM-DOMAIN"
    return (f"{BOUNCE_LOCAL_PART}+*@{bounce_domain(settings) or from_domain} and {UNSUBSCRIBE_LOCAL_PART}@{from_domain}"
            " to `papermail inbound` (an MX or your relay's transport), or to the mailbox `papermail inbound --imap`"
            " polls")


def evaluate(settings: Settings, keys: DkimKeys, extra: list[Finding] | None = None) -> DeployReport:
    """Every rule applied (EXTRA: findings of rules checked elsewhere, e.g. smtp-reachable)."""
    found = [check_base_url(settings), check_mail_backend(settings), check_sender_domain(settings),
             check_alignment(settings), check_dkim(settings, keys), check_postal_address(settings),
             check_secret_key(settings)]
    acknowledged, problems = acknowledged_rules(settings)
    report = DeployReport(records=dns_records(settings, keys), checked=len(found) + (1 if extra is not None else 0))
    for finding in [f for f in found if f is not None] + (extra or []):
        (report.acknowledged if finding.rule in acknowledged else report.failures).append(finding)
    report.failures.extend(problems)
    return report


def start_refusal(settings: Settings, role: str) -> str | None:
    """In production, the one line that stops ROLE (worker, beat) from starting; None when it may."""
    if settings.environment != "production":
        return None
    report = evaluate(settings, read_dkim_keys(settings))
    if report.ok:
        return None
    first = report.failures[0]
    names = ", ".join(f.rule for f in report.failures)
    return (f"refusing to start the {role} in production: `papermail check` fails on {names} ({first.rule}: "
            f"{first.message}); fix it, or list the rule in PAPERMAIL_CHECK_ACKNOWLEDGE")
