"""Typed settings, read from ``MAINSAIL_*`` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Mainsail configuration. Every field can be set with ``MAINSAIL_<FIELD>``.

    Examples
    --------
    >>> Settings(home="/tmp/ms").resolved_database_url()
    'sqlite:////tmp/ms/mainsail.db'
    """

    model_config = SettingsConfigDict(env_prefix="MAINSAIL_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.cwd() / ".mainsail",
        description="Folder for the embedded store: the SQLite file and the artifact folder.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the metadata store, e.g. "
            "'postgresql+psycopg://user@host/db'. Default: a SQLite file in the home folder."
        ),
    )
    artifact_root: str | None = Field(
        default=None,
        description=(
            "Where artifacts are stored: a local folder or any fsspec URL such as "
            "'s3://bucket/prefix'. Default: 'artifacts' in the home folder."
        ),
    )
    tracking_uri: str | None = Field(
        default=None,
        description="URL of a Mainsail server (http://host:port). When set, the SDK talks to it.",
    )
    metric_flush_interval: float = Field(
        default=1.0, description="Seconds between background flushes of buffered metrics."
    )
    run_heartbeat_interval: float = Field(
        default=30.0,
        gt=0,
        le=60,
        description=(
            "Seconds between a running run's heartbeats. A run on another host silent for "
            "5 minutes is marked failed (its process stopped without ending it)."
        ),
    )
    metric_buffer_size: int = Field(
        default=5000, description="Buffered metric points that trigger an early flush."
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30000, description="How long a SQLite writer waits for a lock, in milliseconds."
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description=(
            "256-bit key (64 hex digits or base64) to encrypt artifacts at rest with "
            "AES-256-GCM. Unset: artifacts are stored in the clear."
        ),
    )
    require_encryption: bool = Field(
        default=False,
        description=(
            "Refuse to read artifact blobs stored in plaintext (needs encryption_key). Run "
            "'mainsail encrypt --all' first to encrypt the blobs written before the key."
        ),
    )
    capture_packages: bool = Field(
        default=True, description="Record installed package versions with each run."
    )
    # -- server and REST client (issue 9) ---------------------------------------------------
    token: SecretStr | None = Field(
        default=None,
        description="Bearer token for the Mainsail server at tracking_uri (never logged).",
    )
    ray_address: str | None = Field(
        default=None,
        description=(
            "Ray cluster for the 'ray' pipeline executor (e.g. 'ray://head:10001' or 'auto'). "
            "Unset: a local 2-CPU cluster is started for each pipeline run."
        ),
    )
    webhook_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Where alert and rollout webhooks may POST, comma-separated: host names "
            "(patterns like '*.example.com'), addresses or networks ('10.0.0.0/8'). Empty: any "
            "host except loopback, link-local (cloud metadata), unspecified, multicast and "
            "reserved addresses, which are refused unless listed here."
        ),
    )

    @field_validator("webhook_allow", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    # -- capacity and cost (issue 18) -------------------------------------------------------
    price_vcpu_hour: float = Field(
        default=0.0445,
        ge=0,
        description="Price of one vCPU reserved for an hour (model cards, sizing, the monitor).",
    )
    price_gb_hour: float = Field(
        default=0.0049, ge=0, description="Price of one GB of memory reserved for an hour."
    )
    price_replica_hour: float = Field(
        default=0.0,
        ge=0,
        description="Fixed price of one serving replica for an hour (a node share, a licence).",
    )
    price_currency: str = Field(default="USD", description="The currency of the prices above.")

    def resolved_home(self) -> Path:
        return Path(os.path.expanduser(str(self.home))).absolute()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home() / 'mainsail.db'}"

    def resolved_artifact_root(self) -> str:
        if self.artifact_root:
            return self.artifact_root
        return str(self.resolved_home() / "artifacts")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and ``mainsail.configure`` use this)."""
    get_settings.cache_clear()
