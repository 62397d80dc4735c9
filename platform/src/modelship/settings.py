"""Platform settings, read from the environment with the prefix ``MODELSHIP_``.

The default database is an embedded SQLite file (zero set-up); in a cluster
``MODELSHIP_DATABASE_URL`` is ``postgresql+psycopg://...``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator
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
        "above it the page says the batch runs as an async job (the scheduler)",
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

    @field_validator("models", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [u.strip().rstrip("/") for u in value.split(",") if u.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
