"""Where (re)training reads its data: the one hook a team points at its own source.

Set `TRAINING_DATA` (or `train --data`) to `package.module:function`, a function without
arguments that returns `(features, label)`: a pandas DataFrame with the columns the service
is called with (they become the model's signature) and a Series of labels, one per row:

    TRAINING_DATA=my_team.features:load_last_90_days

The function reads its own configuration (a warehouse URL, a date range) from the
environment; put its module in this package or in a dependency of the image. A CSV or Parquet
file works too (`TRAINING_DATA=table.parquet`): its column `TARGET` (default `target`) is the
label, every other column a feature.

`demo` is the synthetic data of the fraud example (`data.py`). `train` falls back to it only
with a local MLflow store (`make train`, the demo); against any other tracking server, such as
the retraining CronJob's, an unset `TRAINING_DATA` is an error: a cluster never retrains on
demo data by mistake.
"""

import importlib
import os
from urllib.parse import urlsplit

import pandas as pd

DEMO = "demo"
ENV_VAR = "TRAINING_DATA"
TABLE_SUFFIXES = (".csv", ".parquet")


class DataSourceError(ValueError):
    """The data source is not set, cannot be found, or returned something unusable."""


def is_local_store(tracking_uri: str) -> bool:
    """True for a store on this machine: a SQLite file, a folder, a file:// URI."""
    return urlsplit(tracking_uri).scheme in ("", "file", "sqlite")


def choose_source(given: str | None, tracking_uri: str) -> str:
    """The source to train on: `given` when set, the demo data with a local store, else an error."""
    if given:
        return given
    if is_local_store(tracking_uri):
        return DEMO
    raise DataSourceError(
        f"{ENV_VAR} is not set and MLflow is at {tracking_uri}: set {ENV_VAR}=module:function "
        "(a function returning (features, label), see training_data.py and docs/deploy.md); "
        "the demo data is used only with a local store"
    )


def load_training_data(source: str, rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """`(features, label)` from `source` (`demo` takes `rows` and `seed`; a hook ignores them)."""
    if source == DEMO:
        return _demo_data(rows, seed)
    if source.endswith(TABLE_SUFFIXES):
        return _table(source, os.environ.get("TARGET", "target"))
    module_name, colon, function_name = source.partition(":")
    if not colon or not module_name or not function_name.isidentifier():
        raise DataSourceError(
            f"{ENV_VAR}={source!r} must be 'package.module:function', a .csv or .parquet file "
            "or 'demo'"
        )
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as err:
        raise DataSourceError(f"{ENV_VAR}={source!r} cannot be loaded: {err}") from err
    result = function()
    if not (isinstance(result, tuple) and len(result) == 2):
        raise DataSourceError(f"{source} must return a (features, label) tuple")
    features, label = result
    if not isinstance(features, pd.DataFrame) or not isinstance(label, pd.Series):
        raise DataSourceError(f"{source} must return (pandas.DataFrame, pandas.Series)")
    if features.empty or len(features) != len(label):
        raise DataSourceError(
            f"{source} returned {len(features)} rows of features and {len(label)} labels"
        )
    return features, label


def _demo_data(rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    try:
        data = importlib.import_module(f"{__package__}.data")
    except ModuleNotFoundError as err:
        raise DataSourceError(
            f"there is no demo data here (the example's data.py is gone): set {ENV_VAR}"
        ) from err
    return data.make_transactions(rows, seed)


def _table(path: str, target: str) -> tuple[pd.DataFrame, pd.Series]:
    try:
        table = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise DataSourceError(f"{ENV_VAR}={path!r} cannot be read: {err}") from err
    if target not in table.columns:
        raise DataSourceError(f"{path} has no label column TARGET={target!r}: {list(table)}")
    return table.drop(columns=[target]), table[target]
