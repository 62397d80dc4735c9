"""Every knob of the service, read from the environment and `.env` (pydantic-settings).

The defaults come from the answers given when this repo was generated; the environment wins.
"""

import os
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MODEL_NAME = "{{ cookiecutter.mlflow_model_name }}"
MODEL_ALIAS = "{{ cookiecutter.mlflow_model_alias }}"
WORKERS = {{ cookiecutter.workers | int }}
REQUEST_TIMEOUT_S = {{ cookiecutter.request_timeout_s | int }}
MAX_REQUEST_ROWS = {{ cookiecutter.max_batch_rows | int }}
#: Old setting names still read, for one release, with a DeprecationWarning.
DEPRECATED_NAMES = {"max_batch_rows": "max_request_rows"}


class Settings(BaseSettings):
    """Service settings; each field is the upper-case environment variable of the same name."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    @model_validator(mode="before")
    @classmethod
    def _warn_of_old_names(cls, data: object) -> object:
        if isinstance(data, dict):
            given = {str(key).lower() for key in data} | {key.lower() for key in os.environ}
            for old, new in DEPRECATED_NAMES.items():
                if old in given:
                    warnings.warn(
                        f"{old.upper()} is deprecated: set {new.upper()} instead",
                        DeprecationWarning,
                        stacklevel=2,
                    )
        return data

    model_uri: str = Field(
        f"models:/{MODEL_NAME}@{MODEL_ALIAS}",
        description="What to load: models:/name@alias, models:/name/N, runs:/ID/path or a path.",
    )
    model_name: str = Field(MODEL_NAME, description="Name reported when the URI has none.")
    mlflow_tracking_uri: str = Field("sqlite:///mlflow.db", description="MLflow tracking URI.")
    mlflow_registry_uri: str | None = Field(None, description="Registry URI (default: tracking).")
    mlflow_s3_endpoint_url: str | None = Field(None, description="S3-compatible artifact store.")
    aws_access_key_id: str | None = Field(None, description="Artifact-store access key.")
    aws_secret_access_key: SecretStr | None = Field(None, description="Artifact-store secret.")
    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 in a container).")
    port: int = Field(8000, ge=1, le=65535, description="TCP port.")
    workers: int = Field(WORKERS, ge=1, le=64, description="Worker processes.")
    request_timeout_s: float = Field(
        REQUEST_TIMEOUT_S, gt=0, description="Prediction timeout (504 above)."
    )
    max_request_rows: int = Field(
        MAX_REQUEST_ROWS,
        ge=1,
        validation_alias=AliasChoices("max_request_rows", "max_batch_rows"),
        description="Most rows per request (413 above); MAX_BATCH_ROWS is its deprecated name.",
    )
    micro_batching: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Score concurrent calls in one model call: on, off, or auto (on only when "
        "rows are known to be scored independently: a row-wise flavour such as sklearn, or the "
        "card's modelship.io/row-independent).",
    )
    max_batch_size: int = Field(
        MAX_REQUEST_ROWS, ge=1, description="Most rows in one model call (micro-batch)."
    )
    max_batch_delay_ms: float = Field(2.0, ge=0, description="Longest wait to fill a micro-batch.")
    max_body_bytes: int | None = Field(
        None,
        ge=1,
        description="Largest request body, checked while it is read (413 above); "
        "default 1 MiB plus 4 KiB per allowed row.",
    )
    allow_nan: bool = Field(False, description="Accept NaN and Infinity as numbers (else 422).")
    max_string_length: int = Field(
        65_536, ge=1, description="Longest string value a request may carry (422 above)."
    )
    max_header_bytes: int = Field(
        16_384, ge=1_024, description="Largest request head (request line and headers; 400 above)."
    )
    max_headers: int = Field(100, ge=8, description="Most header fields in a request (400 above).")
    header_timeout_s: float = Field(
        10, gt=0, description="Time a client gets to send a request's headers before it is cut."
    )
    score_chunk_rows: int = Field(10_000, ge=1, description="Rows per model call (score_files).")
    model_load_timeout_s: float = Field(300, gt=0, description="Give up loading after this.")
    graceful_timeout_s: float = Field(20, ge=0, description="Time in-flight calls get on SIGTERM.")
    log_level: str = Field("INFO", description="Python log level.")
    image_tag: str = Field("dev", description="Image tag, shown by /info.")
    card_path: Path = Field(Path("catalog-info.yaml"), description="The model card file.")

    @field_validator("micro_batching", mode="before")
    @classmethod
    def _boolean_words(cls, value: object) -> object:
        """`true`/`false` (the setting was a boolean once) still mean on and off."""
        words = {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}
        if isinstance(value, bool):
            return "on" if value else "off"
        return words.get(str(value).strip().lower(), value)

    @property
    def body_limit(self) -> int:
        """MAX_BODY_BYTES, or a size that fits MAX_REQUEST_ROWS rows of a few KiB each."""
        return self.max_body_bytes or (1 << 20) + 4096 * self.max_request_rows


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached); tests build `Settings(...)` directly."""
    return Settings()
