"""Register a model logged anywhere under this repo's model name and alias, so `make serve`
(and the deployed service) loads it.

    python -m {{ cookiecutter.package }}.register runs:/<run id>/model
    python -m {{ cookiecutter.package }}.register models:/<other name>/3 --alias challenger
    python -m {{ cookiecutter.package }}.register path/to/a/saved/model

The model must be an MLflow model; give it a signature and an input example when you log it
(the service builds its typed API from the signature). The tracking store is
MLFLOW_TRACKING_URI, or `--tracking-uri`, by default `sqlite:///mlflow.db` of the folder you run
it from: run it from the repo root, like `make serve`.
"""

import argparse
import logging
import os
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from .settings import MODEL_ALIAS, MODEL_NAME

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
log = logging.getLogger(__name__)


def requirements() -> list[str]:
    """Pin what a scikit-learn model needs to load; inferring it costs a subprocess and ~10 s
    per log (and a warning where the environment has no pip)."""
    return [f"{dist}=={version(dist)}" for dist in ("mlflow", "scikit-learn", "pandas", "skops")]


def trusted_types(model: Any) -> list[str]:
    """The types skops must trust to load a model we have just built ourselves."""
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(model))


def use_experiment(tracking_uri: str, name: str) -> None:
    """Select the experiment; with a local SQLite store, keep its artifacts beside the database
    (MLflow would otherwise write them to ./mlruns of whatever folder it runs in)."""
    if mlflow.get_experiment_by_name(name) is None and tracking_uri.startswith("sqlite:///"):
        database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        mlflow.create_experiment(name, artifact_location=(database.parent / "mlartifacts").as_uri())
    mlflow.set_experiment(name)


def log_sklearn(
    model: Any,
    example: pd.DataFrame,
    tracking_uri: str,
    name: str = MODEL_NAME,
    alias: str = MODEL_ALIAS,
    predict_fn: str = "predict",
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
) -> str:
    """Log a fitted scikit-learn model with its signature (inferred from `example` and the
    output of `predict_fn`) and input example, register it, point `alias` at the new version;
    return the `models:/name@alias` URI."""
    mlflow.set_tracking_uri(tracking_uri)
    use_experiment(tracking_uri, name)
    with warnings.catch_warnings():  # integer columns of an example never miss values
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(example, getattr(model, predict_fn)(example))
    with mlflow.start_run(run_name=f"train-{name}") as run:
        mlflow.log_params(params or {})
        mlflow.log_metrics(metrics or {})
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=example,
            pyfunc_predict_fn=predict_fn,
            registered_model_name=name,
            skops_trusted_types=trusted_types(model),
            pip_requirements=requirements(),
        )
    version = info.registered_model_version
    MlflowClient().set_registered_model_alias(name, alias, version)
    log.info("run %s registered %s version %s as @%s", run.info.run_id, name, version, alias)
    return f"models:/{name}@{alias}"


def register(
    source: str, tracking_uri: str, name: str = MODEL_NAME, alias: str = MODEL_ALIAS
) -> str:
    """Register `source` as a new version of `name`, point `alias` at it; the models:/ URI."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    if Path(source).exists():  # a saved model on disk: log it into the store first
        use_experiment(tracking_uri, name)
        with mlflow.start_run(run_name=f"register-{name}"):
            mlflow.log_artifacts(source, artifact_path="model")
            source = f"{mlflow.get_artifact_uri()}/model"
    version = mlflow.register_model(source, name).version
    MlflowClient().set_registered_model_alias(name, alias, str(version))
    return f"models:/{name}@{alias}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="runs:/…, models:/…, or a saved model's folder")
    parser.add_argument(
        "--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    )
    parser.add_argument("--name", default=MODEL_NAME, help="registered model name")
    parser.add_argument("--alias", default=MODEL_ALIAS, help="alias to point at the new version")
    args = parser.parse_args(argv)
    try:
        uri = register(args.source, args.tracking_uri, args.name, args.alias)
    except Exception as error:  # an unknown run, a folder without MLmodel, an unreachable store
        raise SystemExit(f"register: cannot register {args.source!r}: {error}") from None
    print(uri)


if __name__ == "__main__":
    main()
