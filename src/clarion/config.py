"""Settings: one object, read from `CLARION_*` environment variables and `.env`."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from clarion.config_channels import ChannelSettings
from clarion.domain.content import INTERRUPTIVE
from clarion.domain.enums import Channel

ENV_PREFIX = "CLARION_"
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
KEY_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"})


class Registration(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class Settings(BaseSettings, ChannelSettings):
    """Everything Clarion reads from its environment.

    Unset Kafka and Redis mean the embedded queue and the in-process cache; the
    default database is an SQLite file in the working directory.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///./clarion.db",
        description="SQLAlchemy URL: an SQLite file (embedded) or PostgreSQL (scaled out).",
    )
    database_pool_size: int = Field(
        default=20, ge=1, le=500, description="Connections per process (PostgreSQL)."
    )
    sqlite_commit_delay_ms: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description=(
            "SQLite: how long the writer waits for more writes before a commit "
            "(writes that arrive during a commit share the next one anyway)."
        ),
    )
    sqlite_commit_max_rows: int = Field(
        default=2000,
        ge=1,
        le=100000,
        description="SQLite: about how many rows one commit writes at most.",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="Kafka brokers, comma separated. Unset: the embedded queue."
    )
    kafka_partitions: int = Field(default=10, ge=1, le=1000, description="Partitions per topic.")
    kafka_replication_factor: int = Field(
        default=1, ge=1, le=10, description="Replicas per partition (3 in production)."
    )
    kafka_compression: str = Field(
        default="gzip", description="Producer compression: gzip, lz4, zstd, snappy or none."
    )
    kafka_retry_retention_days: float = Field(
        default=7,
        gt=0,
        le=3650,
        description="Retention of notifications.retry, set when the topic is created.",
    )
    kafka_dlq_retention_days: float = Field(
        default=30,
        gt=0,
        le=3650,
        description="Retention of notifications.dlq, set when the topic is created.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL. Unset: in-process cache, limits and fan-out."
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    public_url: str | None = Field(
        default=None,
        description="The address users reach this service at, e.g. https://notify.example.com: "
        "links in messages (one-click unsubscribe) start with it. Unset: http://HOST:PORT.",
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for one-click unsubscribe links (generated when embedded).",
    )
    quiet_hours_email: bool = Field(
        default=True,
        description="Whether a user's quiet hours hold email back too (SMS and push always).",
    )
    unsubscribe_link_days: int = Field(
        default=60, ge=1, le=365, description="How long an unsubscribe link keeps working."
    )
    api_workers: int = Field(
        default=1, ge=1, le=64, description="Server processes for `clarion api`."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: LogFormat = Field(default=LogFormat.JSON, description="`json` or `console`.")
    log_sample_rate: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Share of requests and notifications whose info and debug lines are "
        "written (decided once for each); warnings and errors always are.",
    )
    metrics_enabled: bool = Field(
        default=True,
        description="Record Prometheus metrics and serve them at `/metrics` (off: nothing).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, `/metrics` asks for `Authorization: Bearer <token>`.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="A port of its own for `/metrics` (workers and schedulers need one).",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted; larger gets 413."
    )
    health_timeout_seconds: float = Field(
        default=2.0, gt=0, le=30, description="Time each readiness check may take."
    )
    data_dir: Path = Field(
        default=Path(".clarion"), description="Where the embedded mode keeps generated secrets."
    )

    jwt_algorithm: str = Field(default="HS256", description="The one algorithm tokens may use.")
    jwt_secret: SecretStr | None = Field(default=None, description="HMAC key for HS256/384/512.")
    jwt_private_key_file: Path | None = Field(
        default=None, description="PEM private key for RS256/ES256/EdDSA signing."
    )
    jwt_public_key_file: Path | None = Field(
        default=None, description="PEM public key for RS256/ES256/EdDSA verification."
    )
    jwt_issuer: str = Field(default="clarion", description="`iss` of issued tokens.")
    jwt_audience: str = Field(default="clarion-api", description="`aud` of issued tokens.")
    access_token_ttl_seconds: int = Field(default=900, ge=30, description="Access token life.")
    refresh_token_ttl_seconds: int = Field(
        default=30 * 24 * 3600, ge=60, description="Refresh token life."
    )
    password_min_length: int = Field(default=10, ge=8, le=128, description="Shortest password.")
    admin_email: str | None = Field(default=None, description="First admin's email.")
    admin_password: SecretStr | None = Field(default=None, description="First admin's password.")

    registration: Registration = Field(
        default=Registration.CLOSED,
        description="`open`: anyone may create an account with POST /auth/register; "
        "`closed`: only admins create accounts (POST /admin/users).",
    )
    rate_limit_enabled: bool = Field(default=True, description="Off behind your own gateway.")
    rate_limit_user: str = Field(
        default="3/second;20/10 seconds;100/minute", description="Tiers for a user token."
    )
    rate_limit_admin: str = Field(
        default="30/second;200/10 seconds;1000/minute", description="Tiers for an admin token."
    )
    rate_limit_api_key: str = Field(
        default="1000/second;50000/minute", description="Default tiers for an API key."
    )
    rate_limit_auth: str = Field(
        default="10/minute;50/hour", description="Per-IP tiers for login, register, refresh."
    )
    rate_limit_notifications_user: str = Field(
        default="60/minute;600/hour", description="Notifications a user may send, per tier."
    )
    rate_limit_notifications_admin: str = Field(
        default="10000/minute", description="Notifications an admin's token may send, per tier."
    )
    rate_limit_notifications_api_key: str = Field(
        default="3000000/minute", description="Notifications an API key may send, per tier."
    )
    worker_concurrency: int = Field(
        default=2, ge=1, le=64, description="Consumer loops per worker process."
    )
    worker_batch_size: int = Field(
        default=100, ge=1, le=1000, description="Messages a consumer takes at once."
    )
    provider_concurrency: int = Field(
        default=50, ge=1, le=1000, description="Sends in flight at once per process."
    )
    provider_timeout_seconds: float = Field(
        default=30.0, gt=0, le=120, description="Longest wait for one provider call."
    )
    retry_max: int = Field(default=3, ge=0, le=20, description="Retries before the dead letter.")
    retry_base_seconds: float = Field(default=1.0, gt=0, description="Backoff base.")
    retry_cap_seconds: float = Field(default=300.0, gt=0, description="Longest backoff.")
    scheduler_interval_seconds: float = Field(
        default=0.25, gt=0, le=60, description="How often due work is looked for."
    )
    outbox_grace_seconds: float = Field(
        default=3.0, ge=0, description="Age at which an unconfirmed row is published again."
    )
    outbox_redelivery_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A published row not claimed after this is published again.",
    )
    claim_lease_seconds: float = Field(
        default=300.0, gt=0, description="A claim older than this is returned to PENDING."
    )
    archive_after_days: int = Field(
        default=90,
        ge=1,
        le=36500,
        description="Finished notifications older than this move to archive files.",
    )
    archive_interval_hours: float = Field(
        default=24,
        ge=0,
        le=8760,
        description="How often the scheduler runs an archive pass; 0: never (POST "
        "/data-pipeline/archive still runs one).",
    )
    archive_chunk_rows: int = Field(
        default=5000,
        ge=1,
        le=20000,
        description="Notifications per archive file at most (one transaction each).",
    )
    archive_url: str | None = Field(
        default=None,
        description="Where archive files go: file:///absolute/folder or s3://bucket/prefix. "
        "Unset: an `archive` folder beside the SQLite file (or in CLARION_DATA_DIR).",
    )
    archive_s3_endpoint: str | None = Field(
        default=None,
        description="An S3-compatible server's URL (http:// allowed); unset: AWS, or "
        "AWS_ENDPOINT_URL_S3. Credentials come from the AWS_* variables.",
    )
    archive_s3_region: str | None = Field(
        default=None, description="The bucket's region; unset: AWS_REGION."
    )
    cors_origins: str = Field(default="", description="Comma-separated origins allowed by CORS.")
    trusted_proxies: str = Field(
        default="127.0.0.1", description="Proxies whose X-Forwarded-* headers are believed."
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("redis_url", "kafka_bootstrap_servers")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        return value

    @field_validator("archive_url", "archive_s3_endpoint", "archive_s3_region")
    @classmethod
    def _blank_archive_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("archive_url")
    @classmethod
    def _check_archive_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("file:///", "s3://", "s3a://")):
            raise ValueError("must be file:///absolute/folder or s3://bucket/prefix")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("jwt_algorithm")
    @classmethod
    def _check_algorithm(cls, value: str) -> str:
        if value not in HMAC_ALGORITHMS | KEY_ALGORITHMS:
            allowed = ", ".join(sorted(HMAC_ALGORITHMS | KEY_ALGORITHMS))
            raise ValueError(f"must be one of {allowed}")
        return value

    @field_validator(
        "rate_limit_user",
        "rate_limit_admin",
        "rate_limit_api_key",
        "rate_limit_auth",
        "rate_limit_notifications_user",
        "rate_limit_notifications_admin",
        "rate_limit_notifications_api_key",
    )
    @classmethod
    def _check_rate_limits(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must be limits like '3/second;100/minute'") from None
        return value

    @field_validator("kafka_compression")
    @classmethod
    def _check_compression(cls, value: str) -> str:
        if value not in {"gzip", "lz4", "zstd", "snappy", "none"}:
            raise ValueError("must be gzip, lz4, zstd, snappy or none")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return upper

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_embedded_queue(self) -> bool:
        return self.kafka_bootstrap_servers is None

    @property
    def is_scaled_out(self) -> bool:
        """Any shared engine configured: secrets can no longer be generated per machine."""
        return not self.is_sqlite or bool(self.kafka_bootstrap_servers or self.redis_url)

    @property
    def quiet_channels(self) -> frozenset[Channel]:
        return INTERRUPTIVE if self.quiet_hours_email else INTERRUPTIVE - {Channel.EMAIL}

    @property
    def link_base(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def webhook_allowed_list(self) -> list[str]:
        return [host.strip() for host in self.webhook_allowed_hosts.split(",") if host.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]


def normalise_database_url(value: str) -> str:
    """Accept the URLs operators write and name the async driver Clarion uses."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise ValueError("must be a URL such as sqlite:///./clarion.db or postgresql://host/db")
    driver_for = {
        "sqlite": "sqlite+aiosqlite",
        "sqlite+aiosqlite": "sqlite+aiosqlite",
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "postgresql+asyncpg": "postgresql+asyncpg",
    }
    if scheme not in driver_for:
        raise ValueError("only sqlite:// and postgresql:// databases are supported")
    return f"{driver_for[scheme]}://{rest}"


class ConfigError(Exception):
    """A setting has a value Clarion cannot use; the message names the variable."""


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation failures into one readable message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            lines.append(f"{ENV_PREFIX}{field.upper()}: {error['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None


def unknown_variables(environ: dict[str, str] | None = None) -> list[str]:
    """`CLARION_*` variables that match no setting: usually a typo worth a warning."""
    known = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    env = os.environ if environ is None else environ
    return sorted(name for name in env if name.startswith(ENV_PREFIX) and name not in known)
