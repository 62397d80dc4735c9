"""Train the model on your team's data, log it to MLflow with a signature and an input
example, register it and set the alias the service loads.

    make train TRAINING_DATA=path/to/table.parquet TARGET=label
    make train TRAINING_DATA=my_team.features:load_last_90_days

This is also the retraining entrypoint (`train` in the image, run by the retraining CronJob
with `--alias challenger`). It works as it stands on any table of numbers with a label column
(`training_data.py` reads it); the two places marked REPLACE are yours: the features and the
estimator.
"""

import argparse

import pandas as pd
from sklearn.linear_model import LinearRegression

from .register import KEEP_CHALLENGERS, add_training_arguments, log_sklearn, run_training
from .training_data import load_training_data


def prepare(features: pd.DataFrame) -> pd.DataFrame:
    """REPLACE: choose and shape the feature columns (here: every column, as it is). The
    service is called with the columns this returns: they become the model's signature."""
    return features


def build_model() -> LinearRegression:
    """REPLACE: your estimator or scikit-learn pipeline (another flavour: see register.py)."""
    return LinearRegression()


def train(
    source: str, tracking_uri: str, name: str, alias: str, keep_challengers: int = KEEP_CHALLENGERS
) -> str:
    """Fit on the data of `source`, log, register, set `alias`; the `models:/name@alias` URI."""
    features, label = load_training_data(source, rows=0, seed=0)
    features = prepare(features)
    model = build_model().fit(features, label)
    return log_sklearn(
        model, features.head(2), tracking_uri, name, alias,
        params={"rows": len(features), "data": source},
        metrics={"train_score": float(model.score(features, label))},
        keep_challengers=keep_challengers,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    run_training(
        parser, args,
        lambda data: train(
            data, args.tracking_uri, args.model_name, args.alias, args.keep_challengers
        ),
    )  # fmt: skip


if __name__ == "__main__":
    main()
