"""Train the model on your team's table, log it to MLflow with a signature and an input
example, register it and set the alias the service loads.

    make train TRAINING_DATA=path/to/table.parquet TARGET=label

This is also the retraining entrypoint (`train` in the image, run by the retraining CronJob
with `--alias challenger`). It works as it stands on any table of numbers with a target
column; the three places marked REPLACE are yours: where the data comes from, which columns
are features, and the estimator.
"""

import argparse
import os

import pandas as pd
from sklearn.linear_model import LinearRegression

from .register import DEFAULT_TRACKING_URI, log_sklearn
from .settings import MODEL_ALIAS, MODEL_NAME


def load_table(source: str) -> pd.DataFrame:
    """REPLACE: read your team's table (here a CSV or Parquet file; a query works as well)."""
    if not source:
        raise SystemExit("train: say where the training table is: TRAINING_DATA or --data")
    return pd.read_parquet(source) if source.endswith(".parquet") else pd.read_csv(source)


def features_and_target(table: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """REPLACE: choose and prepare the feature columns (here every column but the target)."""
    if target not in table.columns:
        raise SystemExit(f"train: the table has no target column {target!r}: {list(table)}")
    return table.drop(columns=[target]), table[target]


def build_model() -> LinearRegression:
    """REPLACE: your estimator or scikit-learn pipeline (another flavour: see register.py)."""
    return LinearRegression()


def train(source: str, target: str, tracking_uri: str, name: str, alias: str) -> str:
    """Fit on the table, log, register, set `alias`; return the `models:/name@alias` URI."""
    features, label = features_and_target(load_table(source), target)
    model = build_model().fit(features, label)
    metrics = {"train_r2": float(model.score(features, label))}
    return log_sklearn(
        model, features.head(2), tracking_uri, name, alias,
        params={"rows": len(features), "target": target}, metrics=metrics,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("TRAINING_DATA", ""))
    parser.add_argument("--target", default=os.environ.get("TARGET", "target"))
    parser.add_argument(
        "--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    )
    parser.add_argument("--model-name", default=MODEL_NAME)
    parser.add_argument("--alias", default=MODEL_ALIAS, help="e.g. challenger when retraining")
    args = parser.parse_args(argv)
    print(train(args.data, args.target, args.tracking_uri, args.model_name, args.alias))


if __name__ == "__main__":
    main()
