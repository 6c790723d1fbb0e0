"""Settings: one pydantic-settings object, read from CONSULTANT_* variables.

Defaults are the embedded profile (SQLite and a SQLite-backed Celery transport
under ``var/``, local outbox folder). Secrets may also come from a file named
by ``CONSULTANT_<NAME>_FILE``, so containers can mount them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "CONSULTANT_"
SECRET_FIELDS = ("database_url", "broker_url", "relay_password")
PLACEHOLDER_SECRETS = {"change-me", "changeme", "secret", "password"}


class FileSecretsSource(PydanticBaseSettingsSource):
    """Read ``CONSULTANT_<NAME>_FILE`` for secret fields (trailing newline stripped)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = os.environ.get(f"{ENV_PREFIX}{field_name.upper()}_FILE")
        if field_name not in SECRET_FIELDS or not path:
            return None, field_name, False
        return Path(path).read_text(encoding="utf-8").strip(), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    """Everything an operator can set; see config/env.example."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    var_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""

    consult_addresses: Annotated[list[str], NoDecode] = ["consult@localhost"]
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    max_message_size: int = Field(default=25 * 1024 * 1024, gt=0)

    from_name: str = "Coding Consult Desk"
    from_address: str = ""
    case_ref_prefix: str = "CC"

    outbox_dir: Path | None = None
    relay_host: str | None = None
    relay_port: int = 587
    relay_security: Literal["starttls", "tls", "none"] = "starttls"
    relay_username: str | None = None
    relay_password: SecretStr | None = None
    relay_timeout: float = 30.0
    relay_ca_file: Path | None = None  # trust this CA bundle instead of the system's

    worker_concurrency: int = Field(default=2, ge=1)
    sweep_interval: float = Field(default=30.0, gt=0)
    sweep_grace: float = Field(default=300.0, ge=0)
    sending_stale_after: float = Field(default=900.0, gt=0)
    retry_backoff: float = Field(default=60.0, gt=0)
    max_send_attempts: int = Field(default=8, ge=1)

    templates_dir: Path | None = None
    log_level: str = "INFO"
    logging_config: Path | None = None

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

    @field_validator("consult_addresses", mode="before")
    @classmethod
    def _split_addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return [str(v).strip().lower() for v in value if str(v).strip()]
        return value

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
        password = self.relay_password.get_secret_value() if self.relay_password else None
        if password is not None and password.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("CONSULTANT_RELAY_PASSWORD is a placeholder; set the real secret")
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the settings once per process, from the environment."""
    return Settings()
