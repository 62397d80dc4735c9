"""Train the demo fraud model, log it to MLflow with a signature, register it and set an alias.

This is also the retraining entrypoint (`train` in the image, run by the retraining CronJob):
point `--tracking-uri` (or MLFLOW_TRACKING_URI) at any tracking server; the default is a local
SQLite store. Replace `build_pipeline` with your own model, and point `TRAINING_DATA` at your
own data (see `training_data.py`). A retrained version is a `challenger`: only the newest
`--keep-challengers` of them stay registered, and older ones without an alias are deleted.
"""

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from .data import make_transactions
from .settings import MODEL_ALIAS, MODEL_NAME
from .training_data import DEMO, ENV_VAR, DataSourceError, choose_source, load_training_data

log = logging.getLogger(__name__)

CHALLENGER = "challenger"
#: The tag that marks the versions retraining registered: only those are ever deleted.
RETRAINED_TAG = "modelship.retrained"
KEEP_CHALLENGERS = 5


def build_pipeline(trees: int, seed: int) -> Pipeline:
    """One-hot the merchant category, pass the numbers through, and fit a random forest."""
    encode = ColumnTransformer(
        [("category", OneHotEncoder(handle_unknown="ignore"), ["merchant_category"])],
        remainder="passthrough",
    )
    forest = RandomForestClassifier(
        n_estimators=trees, max_depth=10, class_weight="balanced", random_state=seed, n_jobs=1
    )
    return Pipeline([("encode", encode), ("forest", forest)])


def _requirements() -> list[str]:
    """Pin what the model needs to load; inferring it costs a subprocess and ~10 s per log."""
    from importlib.metadata import version

    return [f"{dist}=={version(dist)}" for dist in ("mlflow", "scikit-learn", "pandas", "skops")]


def _trusted_types(model: Pipeline) -> list[str]:
    """The types skops must trust to load the pipeline we have just built ourselves."""
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(model))


def use_experiment(tracking_uri: str, name: str) -> None:
    """Select the experiment; with a local SQLite store, keep its artifacts beside the database
    (MLflow would otherwise write them to ./mlruns of whatever folder it runs in)."""
    if mlflow.get_experiment_by_name(name) is None and tracking_uri.startswith("sqlite:///"):
        database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        mlflow.create_experiment(name, artifact_location=(database.parent / "mlartifacts").as_uri())
    mlflow.set_experiment(name)


def train(
    tracking_uri: str,
    model_name: str,
    alias: str,
    rows: int = 20_000,
    trees: int = 100,
    seed: int = 0,
    data: str = DEMO,
    keep_challengers: int = KEEP_CHALLENGERS,
) -> str:
    """Train on `data`, log, register, set `alias`; return the `models:/name@alias` URI.

    A `challenger` is tagged as retrained, and retrained versions beyond the newest
    `keep_challengers` are deleted unless an alias (say `champion`) still points at them.
    """
    mlflow.set_tracking_uri(tracking_uri)
    use_experiment(tracking_uri, model_name)
    features, label = load_training_data(data, rows, seed)
    x_train, x_test, y_train, y_test = train_test_split(
        features, label, test_size=0.2, random_state=seed, stratify=label
    )
    model = build_pipeline(trees, seed).fit(x_train, y_train)
    proba = model.predict_proba(x_test)
    metrics = {
        "roc_auc": float(roc_auc_score(y_test, proba[:, 1])),
        "accuracy": float(accuracy_score(y_test, proba.argmax(axis=1))),
        "fraud_rate": float(label.mean()),
    }
    example = x_train.head(2)
    with warnings.catch_warnings():  # the integer columns never miss values here
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(example, model.predict_proba(example))
    with mlflow.start_run(run_name=f"train-{model_name}") as run:
        mlflow.log_params({"rows": len(features), "trees": trees, "seed": seed, "data": data})
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=example,
            pyfunc_predict_fn="predict_proba",
            registered_model_name=model_name,
            skops_trusted_types=_trusted_types(model),
            pip_requirements=_requirements(),
        )
    version = info.registered_model_version
    client = MlflowClient()
    client.set_registered_model_alias(model_name, alias, version)
    log.info("run %s registered %s version %s as @%s", run.info.run_id, model_name, version, alias)
    if alias == CHALLENGER:
        client.set_model_version_tag(model_name, version, RETRAINED_TAG, "true")
        deleted = prune_challengers(client, model_name, keep_challengers)
        log.info("kept the newest %d challengers; deleted versions %s", keep_challengers, deleted)
    print(f"metrics: {', '.join(f'{k}={v:.3f}' for k, v in metrics.items())}", file=sys.stderr)
    return f"models:/{model_name}@{alias}"


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


def demo_frame(rows: int, seed: int = 1) -> pd.DataFrame:
    """Feature rows without labels, as a client would send them."""
    return make_transactions(rows, seed)[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    )
    parser.add_argument("--model-name", default=MODEL_NAME)
    parser.add_argument("--alias", default=MODEL_ALIAS, help="e.g. challenger when retraining")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data",
        default=os.environ.get(ENV_VAR) or None,
        help=f"module:function returning (features, label), or {DEMO} (default: ${ENV_VAR})",
    )
    parser.add_argument(
        "--keep-challengers",
        type=int,
        default=KEEP_CHALLENGERS,
        help="retrained versions to keep; older ones without an alias are deleted",
    )
    args = parser.parse_args(argv)
    if args.keep_challengers < 1:
        parser.error("--keep-challengers must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        data = choose_source(args.data, args.tracking_uri)
        uri = train(
            args.tracking_uri, args.model_name, args.alias, args.rows, args.trees, args.seed,
            data=data, keep_challengers=args.keep_challengers,
        )  # fmt: skip
    except DataSourceError as err:
        parser.exit(2, f"train: {err}\n")
    print(uri)


if __name__ == "__main__":
    main()
