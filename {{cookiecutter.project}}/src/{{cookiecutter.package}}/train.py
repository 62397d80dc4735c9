"""Train the demo fraud model, log it to MLflow with a signature, register it and set an alias.

This is also the retraining entrypoint (`train` in the image, run by the retraining CronJob):
point `--tracking-uri` (or MLFLOW_TRACKING_URI) at any tracking server; the default is a local
SQLite store. Replace `build_pipeline` with your own model, and point `TRAINING_DATA` at your
own data (see `training_data.py`). A retrained version is a `challenger`: only the newest
`--keep-challengers` of them stay registered, and older ones without an alias are deleted.
"""

import argparse
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from .data import make_transactions
from .register import KEEP_CHALLENGERS, add_training_arguments, log_sklearn, run_training
from .training_data import DEMO, load_training_data


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
    """Train on `data`, log, register, set `alias`; return the `models:/name@alias` URI."""
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
    uri = log_sklearn(
        model, x_train.head(2), tracking_uri, model_name, alias, "predict_proba",
        params={"rows": len(features), "trees": trees, "seed": seed, "data": data},
        metrics=metrics, keep_challengers=keep_challengers,
    )  # fmt: skip
    print(f"metrics: {', '.join(f'{k}={v:.3f}' for k, v in metrics.items())}", file=sys.stderr)
    return uri


def demo_frame(rows: int, seed: int = 1) -> pd.DataFrame:
    """Feature rows without labels, as a client would send them."""
    return make_transactions(rows, seed)[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_training_arguments(parser)
    parser.add_argument("--rows", type=int, default=20_000, help="rows of demo data")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run_training(
        parser, args,
        lambda data: train(
            args.tracking_uri, args.model_name, args.alias, args.rows, args.trees, args.seed,
            data=data, keep_challengers=args.keep_challengers,
        ),
    )  # fmt: skip


if __name__ == "__main__":
    main()
