"""Settings: one pydantic-settings object, read from CONSULTANT_* variables.

Defaults are the embedded profile (SQLite and a SQLite-backed Celery transport
under ``var/``, local outbox folder). Secrets may also come from a file named
by ``CONSULTANT_<NAME>_FILE``, so containers can mount them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "CONSULTANT_"
SECRET_FIELDS = ("database_url", "broker_url", "relay_password", "metrics_token")
PLACEHOLDER_SECRETS = {"change-me", "changeme", "secret", "password"}


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable to fix."""


class FileSecretsSource(PydanticBaseSettingsSource):
    """Read ``CONSULTANT_<NAME>_FILE`` for secret fields (trailing newline stripped)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = f"{ENV_PREFIX}{field_name.upper()}_FILE"
        path = os.environ.get(variable)
        if field_name not in SECRET_FIELDS or not path:
            return None, field_name, False
        try:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        except (OSError, UnicodeDecodeError) as error:
            why = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise ConfigError(f"{variable} names {path}, which cannot be read: {why}") from error

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class Mailbox(BaseModel):
    """One IMAP mailbox the poller watches (an entry of the mailboxes file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    host: str
    port: int | None = Field(default=None, gt=0, lt=65536)  # 993 for tls, else 143
    security: Literal["tls", "starttls", "none"] = "tls"
    verify_certificate: bool = True  # False only for test servers
    ca_file: Path | None = None
    username: str
    auth: Literal["password", "xoauth2"] = "password"
    password: SecretStr | None = None
    password_file: Path | None = None
    password_command: str | None = None
    token_file: Path | None = None  # XOAUTH2 access token, re-read at each login
    token_command: str | None = None
    folder: str = "INBOX"
    after: Literal["leave", "seen", "move"] = "leave"
    move_to: str | None = None
    start: Literal["all", "new"] = "all"  # on first contact: take the backlog, or only new mail
    address: str | None = None  # the consult address this mailbox receives
    idle: bool = True  # use IDLE when the server offers it
    idle_renew: float = Field(default=25 * 60, gt=0, lt=29 * 60)
    poll_interval: float = Field(default=60.0, gt=0)  # also re-syncs an idling connection
    batch_size: int = Field(default=100, ge=1, le=5000)
    batch_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    max_message_size: int | None = Field(default=None, gt=0)
    timeout: float = Field(default=60.0, gt=0)
    reconnect_max: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Mailbox:
        by_auth = {
            "password": ("password", "password_file", "password_command"),
            "xoauth2": ("token_file", "token_command"),
        }
        secrets = by_auth[self.auth]
        given = [name for name in secrets if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"mailbox {self.name}: auth {self.auth} needs exactly one of {', '.join(secrets)}"
            )
        other = [
            name
            for auth, names in by_auth.items()
            if auth != self.auth
            for name in names
            if getattr(self, name) is not None
        ]
        if other:
            raise ValueError(
                f"mailbox {self.name}: {', '.join(other)} is not used with auth {self.auth}"
            )
        if self.password and self.password.get_secret_value().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(f"mailbox {self.name}: the password is a placeholder")
        if (self.after == "move") != bool(self.move_to):
            raise ValueError(
                f"mailbox {self.name}: move_to is needed with after: move, and only then"
            )
        if self.move_to == self.folder:
            raise ValueError(f"mailbox {self.name}: move_to must differ from folder")
        return self

    @property
    def imap_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    @property
    def source(self) -> str:
        return f"imap:{self.name}"


class Settings(BaseSettings):
    """Everything an operator can set; see config/env.example."""

    # `.env` in the working directory too; the environment wins over it.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", env_file=".env", env_file_encoding="utf-8"
    )

    var_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""

    consult_addresses: Annotated[list[str], NoDecode] = ["consult@localhost"]
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    max_message_size: int = Field(default=25 * 1024 * 1024, gt=0)
    # Resource limits: a mail's shape, SMTP sessions, tasks, requests (config/env.example).
    max_mime_parts: int = Field(default=500, ge=1)  # parts in one mail, nested ones included
    max_mime_depth: int = Field(default=20, ge=1)  # multiparts and attached mails inside another
    smtp_max_sessions: int = Field(default=100, ge=1)  # concurrent SMTP connections
    smtp_max_recipients: int = Field(default=100, ge=1)  # accepted RCPTs per transaction
    smtp_max_commands: int = Field(default=200, ge=1)  # commands in a row without a mail
    smtp_idle_timeout: float = Field(default=300.0, gt=0)  # seconds a client may stay silent
    task_soft_time_limit: float = Field(default=120.0, gt=0)  # then the mail is quarantined
    task_time_limit: float = Field(default=180.0, gt=0)  # then the task's process is killed
    mail_view_cache: int = Field(default=64, ge=0)  # parsed mails the console keeps (0: none)
    pdf_view_pages: int = Field(default=20, ge=1, le=500)  # PDF pages the console draws
    web_max_body: int = Field(default=1024 * 1024, gt=0)  # bytes of one request body
    web_max_connections: int = Field(default=100, ge=1)  # open at once; more get 503
    web_header_timeout: float = Field(default=10.0, gt=0)  # seconds to send a request head
    web_keep_alive: int = Field(default=5, ge=1)  # seconds an idle connection stays open
    web_max_head: int = Field(default=64 * 1024, ge=4096)  # bytes of a request head

    from_name: str = "Coding Consult Desk"
    from_address: str = ""
    case_ref_prefix: str = Field(default="CC", pattern=r"^[A-Z]{1,8}$")  # CC-2026-000123

    mailboxes_file: Path | None = None  # YAML list of IMAP mailboxes to poll
    mailboxes: list[Mailbox] = []

    outbox_dir: Path | None = None
    relay_host: str | None = None
    relay_port: int = 587
    relay_security: Literal["starttls", "tls", "none"] = "starttls"
    relay_username: str | None = None
    relay_password: SecretStr | None = None
    relay_timeout: float = 30.0
    relay_ca_file: Path | None = None  # trust this CA bundle instead of the system's
    # DKIM signing of outbound mail (all three, or none).
    dkim_selector: str | None = None
    dkim_domain: str | None = None  # d= of the signature; default: the sending domain
    dkim_key_file: Path | None = None  # PEM private key (RSA or Ed25519)

    worker_concurrency: int = Field(default=2, ge=1)
    sweep_interval: float = Field(default=30.0, gt=0)
    sweep_grace: float = Field(default=300.0, ge=0)
    sending_stale_after: float = Field(default=900.0, gt=0)
    retry_backoff: float = Field(default=60.0, gt=0)
    max_send_attempts: int = Field(default=8, ge=1)
    send_retry_horizon: float = Field(default=2 * 86400.0, gt=0)  # then the case is flagged

    # Code data: the worker's drop folder (default var/code-drop); `codes fetch`'s files.
    code_drop_dir: Path | None = None
    code_drop_interval: float = Field(default=60.0, gt=0)  # seconds between beat's looks
    code_check_interval: float = Field(default=86400.0, gt=0)  # between currency checks
    code_catalogue: Path | None = None
    code_fetch_ca_file: Path | None = None  # trust this CA bundle instead of the system's

    # Retention of mail data (PHI): see consultant/retention.py.
    retention_days: int = Field(default=365, ge=0)  # purge closed cases' mail after; 0 = keep
    purge_interval: float = Field(default=86400.0, gt=0)  # seconds between beat's purges

    # Reviewer console.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8025, gt=0, lt=65536)
    web_base_url: str = ""  # public URL behind a proxy; https:// makes cookies Secure
    session_lifetime: float = Field(default=12 * 3600.0, gt=0)
    login_attempts: int = Field(default=5, ge=1)  # failed logins per address and client ...
    login_window: float = Field(default=900.0, gt=0)  # ... within this many seconds
    login_client_attempts: int = Field(default=20, ge=1)  # one client, all addresses
    login_address_attempts: int = Field(default=100, ge=1)  # one address, all clients
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = []

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        """A comma list of addresses and networks; a bare address is its own /32 or /128.

        An IPv4-mapped network (``::ffff:10.0.0.0/104``) is read as the IPv4 one:
        the console compares peers seen on a dual-stack socket as IPv4.
        """
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        try:
            return [_unmapped(ip_network(part, strict=False)) for part in value or []]
        except ValueError as error:
            raise ValueError(f"CONSULTANT_TRUSTED_PROXIES: {error}") from error

    # Accounts, plans and what happens to mail we should not simply answer.
    plans_file: Path | None = None  # YAML plans; default: the built-in guest/free/paid
    default_plan: str = "free"  # plan of accounts created without one
    unknown_sender: Literal["guest", "invite", "hold", "invite_and_hold"] = "guest"
    over_quota: Literal["notify", "hold", "notify_and_hold"] = "notify"
    registration_url: str = ""  # named in the invitation sent to unknown senders
    acknowledge: bool = False  # send an acknowledgement with the case reference
    auto_reply_limit: int = Field(default=3, ge=0)  # automatic mails to one address ...
    auto_reply_window: float = Field(default=86400.0, gt=0)  # ... per this many seconds
    trusted_authserv_id: str | None = None  # our MTA's Authentication-Results id
    dmarc_fail: Literal["quarantine", "flag"] = "quarantine"

    templates_dir: Path | None = None
    log_level: str = "INFO"
    logging_config: Path | None = None

    # Operations: log format, readiness and metrics (consultant/health.py, metrics.py).
    log_format: Literal["plain", "json"] = "plain"  # json: one object per line
    ready_backlog_age: float = Field(default=900.0, gt=0)  # stored mail older: not ready
    metrics_token: SecretStr | None = None  # Bearer token for /metrics; unset: 404
    min_free_mb: int = Field(default=500, ge=0)  # free MB under var/ below which not ready
    restart_limit: int = Field(default=5, ge=1)  # deaths of one child of `up` within ...
    restart_window: float = Field(default=600.0, gt=0)  # ... these seconds end `up` (status 1)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileSecretsSource(settings_cls), dotenv_settings)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value:
            try:
                make_url(value)
            except ArgumentError:
                # Never the value in the message: it may hold a password.
                raise ValueError(
                    "not a database URL (e.g. postgresql+psycopg://user@host:5432/name)"
                ) from None
        return value

    @field_validator("consult_addresses", mode="before")
    @classmethod
    def _split_addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return [str(v).strip().lower() for v in value if str(v).strip()]
        return value

    @model_validator(mode="after")
    def _load_mailboxes(self) -> Settings:
        if self.mailboxes_file is not None:
            if self.mailboxes:
                raise ValueError("set CONSULTANT_MAILBOXES or CONSULTANT_MAILBOXES_FILE, not both")
            self.mailboxes = _read_mailboxes(self.mailboxes_file)
        names = [m.name for m in self.mailboxes]
        if len(set(names)) != len(names):
            raise ValueError("mailbox names must be unique")
        return self

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.consult_addresses:
            raise ValueError("CONSULTANT_CONSULT_ADDRESSES must name at least one address")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir.resolve() / 'consultant.sqlite3'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{self.var_dir.resolve() / 'broker.sqlite3'}"
        if not self.from_address:
            self.from_address = self.consult_addresses[0]
        if self.outbox_dir is None:
            self.outbox_dir = self.var_dir / "outbox"
        dkim = (self.dkim_selector, self.dkim_key_file)
        if any(dkim) and not all(dkim):
            raise ValueError("DKIM needs CONSULTANT_DKIM_SELECTOR and CONSULTANT_DKIM_KEY_FILE")
        if not self.web_base_url:
            self.web_base_url = f"http://{self.web_host}:{self.web_port}"
        self.web_base_url = self.web_base_url.rstrip("/")
        password = self.relay_password.get_secret_value() if self.relay_password else None
        if password is not None and password.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("CONSULTANT_RELAY_PASSWORD is a placeholder; set the real secret")
        return self

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if self.task_time_limit <= self.task_soft_time_limit:
            raise ValueError(
                "CONSULTANT_TASK_TIME_LIMIT must be longer than CONSULTANT_TASK_SOFT_TIME_LIMIT"
            )
        return self

    @property
    def embedded(self) -> bool:
        """True when the database is SQLite: one machine, no external server."""
        return self.database_url.startswith("sqlite")

    @property
    def mail_domain(self) -> str:
        """Domain for Message-IDs we mint: the one of the sending address."""
        return self.from_address.rpartition("@")[2] or "localhost"

    def outbox_path(self) -> Path:
        assert self.outbox_dir is not None  # filled by _fill_defaults
        return self.outbox_dir

    def code_drop_path(self) -> Path:
        return self.code_drop_dir or self.var_dir / "code-drop"


def _read_mailboxes(path: Path) -> list[Mailbox]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read the mailboxes file {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ValueError(f"the mailboxes file {path} is not valid YAML: {error}") from error
    entries = data.get("mailboxes") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"the mailboxes file {path} must hold a list under 'mailboxes:'")
    return [Mailbox.model_validate(entry) for entry in entries]


def describe_config_error(error: ValueError) -> str:
    """One line naming the CONSULTANT_* variable(s) at fault, never their values."""
    if not isinstance(error, ValidationError):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        loc = [str(part) for part in item["loc"]]
        if loc and loc[0] in Settings.model_fields:
            where = ENV_PREFIX + loc[0].upper() + "".join(f"[{part}]" for part in loc[1:])
            message = f"{where}: {message}"
        parts.append(message)
    return "; ".join(parts)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the settings once per process, from the environment."""
    return Settings()


_MAPPED = IPv6Network("::ffff:0:0/96")


def _unmapped(network: IPv4Network | IPv6Network) -> IPv4Network | IPv6Network:
    """An IPv4-mapped IPv6 network as the IPv4 network it maps; any other as it is."""
    if isinstance(network, IPv6Network) and network.subnet_of(_MAPPED):
        address = network.network_address.ipv4_mapped
        assert address is not None  # inside ::ffff:0:0/96
        return IPv4Network((address, network.prefixlen - 96))
    return network
