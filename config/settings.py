"""The one Settings class. Read once (``get_settings``), passed down; nothing else reads os.environ.

Every setting comes from the environment with the ``PAPERMAIL_`` prefix, or from a ``.env`` file
in the working directory. ``config/example.env`` lists them all with their defaults.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import SettingsError

DEFAULT_SECRET_KEY = "change-me-papermail-development-only"

_DOMAIN = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))+")

SourceKind = Literal["hf_daily", "arxiv_rss", "arxiv_api", "feed"]


class SourceConfig(BaseModel):
    """One paper source as configured (stored and editable in the ``sources`` table)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: SourceKind
    url: str
    poll_interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    enabled: bool = True


def default_sources() -> list[SourceConfig]:
    return [
        SourceConfig(
            name="hf-daily",
            kind="hf_daily",
            url="https://huggingface.co/api/daily_papers?sort=trending&limit=100",
            poll_interval_minutes=60,
        ),
        SourceConfig(
            name="arxiv-ai-lg-cl",
            kind="arxiv_rss",
            url="https://rss.arxiv.org/rss/cs.AI+cs.LG+cs.CL",
            poll_interval_minutes=180,
        ),
    ]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PAPERMAIL_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # -- where things live ---------------------------------------------------------------
    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("./var")
    # Empty means the embedded default: SQLite under DATA_DIR / Celery's filesystem broker.
    database_url: str = ""
    broker_url: str = ""
    result_backend: str = ""

    # -- web ------------------------------------------------------------------------------
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEFAULT_SECRET_KEY
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=1, le=65535)
    # Proxies whose X-Forwarded-For/-Proto are believed (comma-separated IPs or CIDRs, "*" for
    # any). Empty: none — a client could otherwise pick its own address past the rate limits.
    forwarded_allow_ips: str = ""

    # -- mail -----------------------------------------------------------------------------
    mail_backend: Literal["outbox", "smtp", "console", "memory"] = "outbox"
    mail_from: str = "papermail <digest@papermail.localhost>"
    mail_reply_to: str = ""
    postal_address: str = "papermail, 1 Example Street, 00000 Example City"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # Text parts go 8bit when the relay announces 8BITMIME (RFC 6152). Off for a relay that
    # announces it but converts to quoted-printable for a later hop, which breaks the DKIM body hash.
    smtp_8bitmime: bool = True
    # The send log commits without waiting for the disk (README "Durability of the send log"):
    # a database or machine crash can re-send the last moments' digests, same Message-ID.
    ledger_async_commit: bool = True
    dkim_domain: str = ""
    dkim_selector: str = ""
    dkim_private_key_path: Path | None = None
    # An optional second signature, ed25519-sha256 (RFC 8463), under its own selector; the RSA
    # one stays, since many receivers verify RSA only.
    dkim_ed25519_selector: str = ""
    dkim_ed25519_private_key_path: Path | None = None
    send_rate_per_second: float = Field(default=50.0, gt=0)
    # The relay's circuit breaker (shared by every worker through the broker's Redis): it opens
    # after this many connection failures or 421s in a row, or this many other 4xx answers in a
    # row; while open, one probe goes out after a pause that doubles up to the longest.
    smtp_breaker_failures: int = Field(default=3, ge=1, le=1000)
    smtp_breaker_tempfails: int = Field(default=20, ge=2, le=10_000)
    smtp_breaker_max_seconds: float = Field(default=30.0, ge=1, le=3600)

    # -- scheduling and delivery ---------------------------------------------------------
    planner_interval_minutes: int = Field(default=5, ge=1, le=60)
    digest_batch_size: int = Field(default=200, ge=1, le=10_000)
    # A delivery claimed but neither sent nor failed after this long is re-enqueued:
    # the filesystem broker loses a message when a worker dies mid-task.
    delivery_stale_minutes: int = Field(default=30, ge=1)
    # A worker holds the deliveries it is sending under a lease it renews every quarter of this;
    # when the worker dies, its rows are re-enqueued once the lease has run out.
    delivery_lease_seconds: int = Field(default=60, ge=8, le=3600)
    lookback_days: int = Field(default=7, ge=1, le=60)
    # First retry of a transiently failed delivery (4xx, connection lost); doubles each time.
    delivery_retry_seconds: float = Field(default=60.0, gt=0, le=3600)
    confirm_token_max_age_hours: int = Field(default=48, ge=1)

    # -- ingestion ------------------------------------------------------------------------
    sources: list[SourceConfig] = Field(default_factory=default_sources)
    fetch_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    fetch_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    fetch_read_timeout_seconds: float = Field(default=30.0, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    contact_email: str = "admin@papermail.localhost"
    source_stale_hours: int = Field(default=48, ge=1)
    # Sources added in the admin or the API may not point at private, loopback or link-local
    # addresses (the cloud metadata service, the LAN) unless this is on.
    source_allow_private_urls: bool = False

    # -- people: web, admin, bounces -----------------------------------------------------------
    # Multiplies every per-IP/per-address web rate limit (benchmarks and load tests raise it).
    web_rate_limit_scale: float = Field(default=1.0, gt=0)
    admin_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    admin_max_failed_logins: int = Field(default=5, ge=1)
    admin_lockout_minutes: int = Field(default=15, ge=1)
    # Shared secret for POST /webhooks/bounce; empty turns the webhook off.
    bounce_webhook_secret: str = ""
    soft_bounce_limit: int = Field(default=5, ge=1)

    # -- inbound mail: bounces, complaints, the mailto unsubscribe (`papermail inbound`) ------
    # Domain of the VERP bounce addresses (bounces+TOKEN@BOUNCE_DOMAIN), which are the digests'
    # SMTP MAIL FROM; empty: MAIL_FROM's domain. Its MX (or the relay) routes to `papermail inbound`.
    bounce_domain: str = ""
    inbound_host: str = "127.0.0.1"
    inbound_port: int = Field(default=8025, ge=0, le=65535)
    inbound_lmtp: bool = False
    inbound_max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # A mailbox at a provider that receives the bounce/unsubscribe addresses, read by
    # `papermail inbound --imap`; empty host: no polling.
    inbound_imap_host: str = ""
    inbound_imap_port: int = Field(default=993, ge=1, le=65535)
    inbound_imap_security: Literal["ssl", "starttls", "none"] = "ssl"
    inbound_imap_username: str = ""
    inbound_imap_password: str = ""
    inbound_imap_folder: str = "INBOX"
    # Processed messages are marked \Seen, and moved here when set.
    inbound_imap_processed_folder: str = ""
    inbound_imap_poll_seconds: float = Field(default=60.0, ge=1)

    # -- operations -------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    default_timezone: str = "UTC"
    # `papermail check` rules deliberately not met (comma-separated names): in production the
    # worker and beat refuse to start while any other rule fails.
    check_acknowledge: str = ""

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        if value and "://" not in value:
            raise ValueError("is not a URL")
        return value

    @field_validator("broker_url", "result_backend")
    @classmethod
    def _check_broker_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in {"redis", "rediss", "filesystem", "memory", "file", "amqp"}:
            raise ValueError("must be a redis://, filesystem:// or memory:// URL")
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/")

    @field_validator("bounce_domain")
    @classmethod
    def _check_bounce_domain(cls, value: str) -> str:
        value = value.strip().lower().rstrip(".")
        if value and not _DOMAIN.fullmatch(value):
            raise ValueError("must be a domain name like bounces.example.org")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _check_secret_and_dkim(self) -> Settings:
        if self.secret_key == DEFAULT_SECRET_KEY and self.environment != "development":
            raise ValueError(
                "PAPERMAIL_SECRET_KEY is the development default, refused when PAPERMAIL_ENVIRONMENT"
                f" is {self.environment}; set a long random secret"
            )
        dkim = [self.dkim_domain, self.dkim_selector, self.dkim_private_key_path]
        if any(dkim) and not all(dkim):
            raise ValueError(
                "PAPERMAIL_DKIM_DOMAIN, PAPERMAIL_DKIM_SELECTOR and PAPERMAIL_DKIM_PRIVATE_KEY_PATH go together"
            )
        ed25519 = [self.dkim_ed25519_selector, self.dkim_ed25519_private_key_path]
        if any(ed25519) and not (all(ed25519) and all(dkim)):
            raise ValueError(
                "PAPERMAIL_DKIM_ED25519_SELECTOR and PAPERMAIL_DKIM_ED25519_PRIVATE_KEY_PATH go together,"
                " beside the RSA key's PAPERMAIL_DKIM_DOMAIN, _SELECTOR and _PRIVATE_KEY_PATH"
            )
        if self.dkim_ed25519_selector and self.dkim_ed25519_selector == self.dkim_selector:
            raise ValueError("PAPERMAIL_DKIM_ED25519_SELECTOR must differ from PAPERMAIL_DKIM_SELECTOR")
        if self.delivery_stale_minutes * 60 < self.delivery_lease_seconds:
            # The stale sweep takes back rows left 'sending': never while their lease may be alive.
            raise ValueError("PAPERMAIL_DELIVERY_STALE_MINUTES must be at least PAPERMAIL_DELIVERY_LEASE_SECONDS")
        names = [s.name for s in self.sources]
        if len(names) != len(set(names)):
            raise ValueError("PAPERMAIL_SOURCES has two sources with the same name")
        return self

    # -- derived switches -------------------------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'papermail.sqlite3').resolve()}"

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def broker_is_embedded(self) -> bool:
        return self.effective_broker_url.startswith("filesystem://")

    @property
    def effective_result_backend(self) -> str:
        if self.result_backend:
            return self.result_backend
        if self.broker_is_embedded:
            return f"file://{(self.data_dir / 'results').resolve()}"
        return self.effective_broker_url

    @property
    def broker_dir(self) -> Path:
        return (self.data_dir / "broker").resolve()

    @property
    def outbox_dir(self) -> Path:
        return (self.data_dir / "outbox").resolve()

    @property
    def dkim_enabled(self) -> bool:
        return bool(self.dkim_domain and self.dkim_selector and self.dkim_private_key_path)

    @property
    def user_agent(self) -> str:
        return f"papermail/0.1 (+{self.base_url}; mailto:{self.contact_email})"


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning pydantic's multi-line report into one line that names the setting."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError as SourceParseError

    try:
        return Settings(**overrides)
    except SourceParseError as exc:
        # A complex setting (a list) that is not JSON: pydantic-settings names the field only.
        field = str(exc).split('field "', 1)[-1].split('"', 1)[0]
        raise SettingsError(f"invalid setting PAPERMAIL_{field.upper()}: not valid JSON") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "_".join(str(part) for part in first["loc"] if not isinstance(part, int)).upper()
        message = first["msg"].removeprefix("Value error, ")
        if not loc:  # a rule across settings: its message names them
            raise SettingsError(f"invalid setting {message}") from None
        raise SettingsError(f"invalid setting PAPERMAIL_{loc}: {message}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
