"""Load the MLflow PyFunc model into memory once, and describe what was loaded."""

import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.models import ModelSignature

from .settings import Settings

log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """The model named by MODEL_URI could not be loaded; the message names the URI and cause."""


@dataclass(frozen=True)
class ServedModel:
    """The in-memory PyFunc and what the service reports about it."""

    pyfunc: mlflow.pyfunc.PyFuncModel
    uri: str
    name: str
    version: str
    run_id: str | None
    flavors: tuple[str, ...]
    signature: ModelSignature | None
    input_example: Any
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.pyfunc.predict(data, params=params)  # `{}` stays `{}`, as MLflow passes it


def _configure_mlflow(settings: Settings) -> None:
    """Hand the settings to MLflow and boto, which read the environment."""
    env = {
        "MLFLOW_S3_ENDPOINT_URL": settings.mlflow_s3_endpoint_url,
        "AWS_ACCESS_KEY_ID": settings.aws_access_key_id,
        "AWS_SECRET_ACCESS_KEY": settings.aws_secret_access_key
        and settings.aws_secret_access_key.get_secret_value(),
    }
    os.environ.update({key: value for key, value in env.items() if value})
    # An unreachable tracking server should fail the start quickly, not after minutes of retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    # MLflow draws download progress bars whenever tqdm is installed: not in JSON-line logs.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_registry_uri or settings.mlflow_tracking_uri)


def _registry_version(uri: str) -> tuple[str, str] | None:
    """(name, version) for models:/name@alias and models:/name/N URIs, else None."""
    if not uri.startswith("models:/"):
        return None
    ref = uri.removeprefix("models:/").strip("/")
    client = MlflowClient()
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return name, client.get_model_version_by_alias(name, alias).version
    name, _, version = ref.partition("/")
    if version.isdigit():
        return name, version
    if version in ("", "latest"):
        return name, max(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    return name, client.get_latest_versions(name, stages=[version])[0].version


def _load(settings: Settings) -> ServedModel:
    uri = settings.model_uri
    registered = _registry_version(uri)
    download_dir = tempfile.mkdtemp(prefix="model-")
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=download_dir)
        pyfunc = mlflow.pyfunc.load_model(local)
        input_example = pyfunc.input_example
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)
    meta = pyfunc.metadata
    run_id = meta.run_id
    name, version = registered or (settings.model_name, f"run-{(run_id or 'local')[:8]}")
    return ServedModel(
        pyfunc=pyfunc,
        uri=uri,
        name=name,
        version=str(version),
        run_id=run_id,
        flavors=tuple(meta.flavors),
        signature=meta.signature,
        input_example=input_example,
    )


def load_model(settings: Settings) -> ServedModel:
    """Load MODEL_URI into memory within MODEL_LOAD_TIMEOUT_S, or raise ModelLoadError."""
    _configure_mlflow(settings)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["model"] = _load(settings)
        except BaseException as exc:  # reported to the caller below
            outcome["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=target, name="model-loader", daemon=True)
    worker.start()
    worker.join(settings.model_load_timeout_s)
    if worker.is_alive():
        raise ModelLoadError(
            f"cannot load model {settings.model_uri!r}: "
            f"timed out after {settings.model_load_timeout_s:g} s"
        )
    if "error" in outcome:
        error = outcome["error"]
        raise ModelLoadError(
            f"cannot load model {settings.model_uri!r}: {type(error).__name__}: {error}"
        ) from error
    model = outcome["model"]
    log.info(
        "loaded model",
        extra={
            "model_name": model.name,
            "model_version": model.version,
            "seconds": round(time.monotonic() - started, 3),
        },
    )
    return model


def warm_up(model: ServedModel) -> float | None:
    """Score the model's input example once, before workers are forked.

    The first prediction imports modules and fills caches lazily; done in the parent, those
    pages are shared by every worker instead of copied into each. Returns the seconds it took,
    or None when there is no example or it cannot be scored (the service still starts: the
    example is not the contract, the signature is).
    """
    if model.input_example is None:
        return None
    started = time.monotonic()
    try:
        model.predict(model.input_example)
    except Exception as error:  # a model that needs params or a non-example shape
        reason = f"{type(error).__name__}: {error}"
        log.warning("warm-up prediction failed", extra={"error": reason})
        return None
    seconds = round(time.monotonic() - started, 3)
    log.info("warm-up prediction", extra={"seconds": seconds})
    return seconds
