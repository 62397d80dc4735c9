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
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from .settings import MODEL_ALIAS, MODEL_NAME
from .training_data import DEMO, ENV_VAR, DataSourceError, choose_source

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
CHALLENGER = "challenger"
#: The tag that marks the versions retraining registered: only those are ever deleted.
RETRAINED_TAG = "modelship.retrained"
KEEP_CHALLENGERS = 5
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
    keep_challengers: int = KEEP_CHALLENGERS,
) -> str:
    """Log a fitted scikit-learn model with its signature (inferred from `example` and the
    output of `predict_fn`) and input example, register it, point `alias` at the new version;
    return the `models:/name@alias` URI. A `challenger` is tagged as retrained, and retrained
    versions beyond the newest `keep_challengers` are deleted unless an alias still points at
    them (see `prune_challengers`)."""
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
    client = MlflowClient()
    client.set_registered_model_alias(name, alias, version)
    log.info("run %s registered %s version %s as @%s", run.info.run_id, name, version, alias)
    if alias == CHALLENGER:
        client.set_model_version_tag(name, version, RETRAINED_TAG, "true")
        deleted = prune_challengers(client, name, keep_challengers)
        log.info("kept the newest %d challengers; deleted versions %s", keep_challengers, deleted)
    return f"models:/{name}@{alias}"


def prune_challengers(client: MlflowClient, model_name: str, keep: int) -> list[str]:
    """Delete the retrained versions older than the newest `keep` that no alias points at,
    with their runs (soft-deleted: `mlflow gc` then frees their artifacts). Versions that
    retraining did not register are never touched. Returns the deleted version numbers."""
    versions, token = [], None
    while True:
        page = client.search_model_versions(f"name = '{model_name}'", page_token=token)
        versions += page
        token = page.token
        if not token:
            break
    retrained = sorted(
        (v for v in versions if v.tags.get(RETRAINED_TAG) == "true"),
        key=lambda v: int(v.version),
        reverse=True,
    )
    deleted = []
    for old in retrained[keep:]:
        if client.get_model_version(model_name, old.version).aliases:
            continue  # promoted (or pinned) by someone: it stays
        client.delete_model_version(model_name, old.version)
        if old.run_id:
            client.delete_run(old.run_id)
        deleted.append(str(old.version))
    return deleted


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


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every training entrypoint (the retraining CronJob passes them)."""
    parser.add_argument(
        "--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    )
    parser.add_argument("--model-name", default=MODEL_NAME)
    parser.add_argument("--alias", default=MODEL_ALIAS, help="e.g. challenger when retraining")
    parser.add_argument(
        "--data",
        default=os.environ.get(ENV_VAR) or None,
        help=f"module:function returning (features, label), a table, or {DEMO} (${ENV_VAR})",
    )
    parser.add_argument(
        "--keep-challengers",
        type=int,
        default=KEEP_CHALLENGERS,
        help="retrained versions to keep; older ones without an alias are deleted",
    )


def run_training(
    parser: argparse.ArgumentParser, args: argparse.Namespace, train: Callable[[str], str]
) -> None:
    """Check the options, choose the data source, run `train(source)`, print the URI."""
    if args.keep_challengers < 1:
        parser.error("--keep-challengers must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        uri = train(choose_source(args.data, args.tracking_uri))
    except DataSourceError as err:
        parser.exit(2, f"train: {err}\n")
    print(uri)


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
