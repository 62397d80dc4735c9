"""Platform settings, read from the environment with the prefix ``MODELSHIP_``.

The default database is an embedded SQLite file (zero set-up); in a cluster
``MODELSHIP_DATABASE_URL`` is ``postgresql+psycopg://...``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODELSHIP_", extra="ignore")

    database_url: str = "sqlite:///./modelship.db"
    models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    discovery: Literal["static", "kubernetes"] = "static"
    admin_key: str | None = None
    owner_share: Decimal = Field(default=Decimal("0.8"), ge=0, le=1)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    request_timeout_s: float = Field(default=30.0, gt=0)
    hold_ttl_s: float = Field(default=300.0, gt=0)
    max_body_bytes: int = Field(
        default=64 << 20,
        ge=1,
        description="largest gateway request body: a 413 before it is read when Content-Length "
        "says more, else as soon as more arrives (above what model services accept by default)",
    )
    billing_url: str = Field(
        default="http://127.0.0.1:8080",
        description="the billing service the catalog and the scheduler authorise and call through",
    )
    registry_refresh_s: float = Field(default=30.0, gt=0)
    rate_limit_per_s: float = Field(
        default=1000.0,
        gt=0,
        description="gateway calls per second per API key (bursts of one second's worth); "
        "above it a 429 with Retry-After. Counted per process",
    )
    workers: int = Field(
        default=1, ge=1, le=64, description="uvicorn worker processes of `modelship billing`"
    )
    access_log: bool = Field(
        default=False, description="log every request (a line per call costs the hot path)"
    )
    key_cache_s: float = Field(
        default=30.0,
        ge=0,
        description="seconds a verified key is remembered in memory (revocation still applies "
        "at once: the hold checks the key)",
    )
    # the catalog
    interactive_rows: int = Field(
        default=1000,
        ge=1,
        description="batch rows the catalog scores while the page waits; "
        "above it the batch runs as a scheduler job (MODELSHIP_SCHEDULER_URL)",
    )
    sign_in_failures: int = Field(
        default=5, ge=1, description="failed catalog sign-ins per email within sign_in_window_s"
    )
    sign_in_window_s: float = Field(
        default=900.0, gt=0, description="above sign_in_failures, further attempts get a 429"
    )
    scheduler_url: str | None = Field(
        default=None,
        description="the scheduler the catalog submits batches above interactive_rows to",
    )
    upload_max_bytes: int = Field(
        default=5_000_000, ge=1, description="largest batch file the catalog accepts"
    )
    answer_max_bytes: int = Field(
        default=1_000_000, ge=1, description="larger answers are offered as a download"
    )
    session_ttl_s: int = Field(
        default=3600, ge=60, le=86_400, description="life of a catalog sign-in (its billing key)"
    )
    mlflow_ui_url: str | None = Field(
        default=None, description="MLflow UI the catalog links a model's run to"
    )
    gateway_public_url: str | None = Field(
        default=None, description="the gateway URL shown in the examples (default billing_url)"
    )

    # The scheduler (`modelship scheduler` / `modelship worker`)
    public_url: str = Field(
        default="http://127.0.0.1:8300",
        description="the scheduler's address as users reach it: result links in emails",
    )
    results_url: str = Field(
        default="./modelship-results",
        description="where job inputs and results are kept: a folder, or s3://bucket/prefix",
    )
    results_retention_s: float = Field(
        default=7 * 86400, gt=0, description="seconds a finished job's result is kept"
    )
    s3_endpoint_url: str | None = Field(default=None, description="an S3-compatible endpoint")
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://[user:password@]host:port (smtps:// for TLS); unset: no emails",
    )
    smtp_from: str = "modelship@localhost"
    webhook_secret: SecretStr | None = Field(
        default=None, description="key of the HMAC-SHA256 signature of job webhooks"
    )
    webhook_private_ok: bool = Field(
        default=False,
        description="allow job webhooks to loopback, private and link-local addresses (tests, "
        "or an in-cluster receiver); off: only public addresses",
    )
    webhook_attempts: int = Field(default=4, ge=1, le=20)
    webhook_backoff_s: float = Field(default=1.0, ge=0)
    sql_connections: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='named database URLs for sql://<name>?query=... inputs (JSON: {"name": url})',
    )
    input_folders: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="local folders job inputs may be read from"
    )
    job_chunk_rows: int = Field(
        default=1000, ge=1, description="rows per /predict/batch call when /info names no limit"
    )
    job_max_rows: int = Field(default=10_000_000, ge=1)
    job_hold_ttl_s: float = Field(
        default=7 * 86400, gt=0, description="how long a job's hold waits to be settled"
    )
    job_chunk_concurrency: int = Field(default=2, ge=1, le=64, description="chunks per job")
    worker_jobs: int = Field(default=2, ge=1, le=64, description="jobs a worker runs at once")
    worker_chunk_concurrency: int = Field(
        default=4, ge=1, le=256, description="chunks in flight per worker, across its jobs"
    )
    job_chunk_attempts: int = Field(default=3, ge=1, le=10)
    lease_s: float = Field(default=30.0, gt=0, description="a claimed job's lease")
    poll_s: float = Field(default=0.5, gt=0, description="a worker's pause when nothing is queued")
    schedule_tick_s: float = Field(default=5.0, gt=0)
    clock_origin: datetime | None = Field(
        default=None,
        description="tests: the schedules' clock reads clock_origin at real time clock_anchor "
        "(epoch seconds) and runs clock_speed times faster",
    )
    clock_anchor: float = 0.0
    clock_speed: float = Field(default=1.0, gt=0)
    shard_rows: int = Field(
        default=5_000_000, ge=1, description="inputs above it render a Kubernetes Indexed Job"
    )
    shard_parallelism: int = Field(default=4, ge=1, le=1000)
    shard_cpu: str = Field(default="1", description="CPU of each shard's pod (request = limit)")
    shard_memory: str = Field(default="2Gi", description="memory of each shard's pod")
    models_namespace: str = Field(
        default="models",
        description="the scheduler discovers models and creates shard Jobs in this namespace",
    )
    scheduler_worker: bool = Field(
        default=True, description="`modelship scheduler` also runs a worker in its process"
    )

    @field_validator("input_folders", mode="before")
    @classmethod
    def _folders(cls, value: object) -> object:
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    @field_validator("models", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [u.strip().rstrip("/") for u in value.split(",") if u.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
