"""Tiny real models for the tests, logged and registered into a temporary MLflow store.

Each covers a shape of signature the service must handle; none is downloaded from anywhere.
"""

import time
import warnings

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema, TensorSpec
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

import tests.service.models as this_module

# Pickle these classes by value, so a model loads without this test module on the path.
cloudpickle.register_pickle_by_value(this_module)


class Regressor(PythonModel):
    """A linear regressor over `size` (double), `premium` (boolean) and optional `floors` (long)."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        x = np.column_stack([rng.random(50) * 100, rng.integers(0, 2, 50), rng.integers(1, 4, 50)])
        self.regressor = LinearRegression().fit(x, 3 * x[:, 0] + 20 * x[:, 1] + 5 * x[:, 2])

    def predict(self, context, model_input: pd.DataFrame, params=None):
        floors = model_input.get("floors", 1)
        frame = model_input.assign(floors=pd.Series(floors, index=model_input.index).fillna(1))
        x = frame[["size", "premium", "floors"]].astype(float).to_numpy()
        return self.regressor.predict(x)


REGRESSOR_SIGNATURE = ModelSignature(
    inputs=Schema(
        [
            ColSpec("double", "size"),
            ColSpec("boolean", "premium"),
            ColSpec("long", "floors", required=False),
        ]
    ),
    outputs=Schema([ColSpec("double")]),
)


class EveryType(PythonModel):
    """One column of every MLflow type; answers a summary per row, so tests see what arrived."""

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return pd.DataFrame(
            {
                "text": model_input["text"].str.upper(),
                "total": model_input["small"] + model_input["big"],
                "ratio": model_input["single"] * model_input["double"],
                "flag": model_input["flag"],
                "year": pd.to_datetime(model_input["when"]).dt.year,
                "bytes": model_input["blob"].map(len),
            }
        )


EVERY_TYPE_SIGNATURE = ModelSignature(
    inputs=Schema(
        [
            ColSpec("string", "text"),
            ColSpec("integer", "small"),
            ColSpec("long", "big"),
            ColSpec("float", "single"),
            ColSpec("double", "double"),
            ColSpec("boolean", "flag"),
            ColSpec("datetime", "when"),
            ColSpec("binary", "blob"),
        ]
    )
)


class TensorSum(PythonModel):
    """Sums each instance of a float tensor of shape (-1, 3)."""

    def predict(self, context, model_input: np.ndarray, params=None):
        return np.asarray(model_input, dtype="float32").sum(axis=1)


TENSOR_SIGNATURE = ModelSignature(
    inputs=Schema([TensorSpec(np.dtype("float32"), (-1, 3))]),
    outputs=Schema([TensorSpec(np.dtype("float32"), (-1,))]),
)


class Echo(PythonModel):
    """No signature: counts the keys of each record."""

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return [int(row.notna().sum()) for _, row in pd.DataFrame(model_input).iterrows()]


class Quirky(PythonModel):
    """Doubles `x`; fails for x == -1, rejects x == -2 as a bad value, sleeps 3 s for x == 99
    and 50 ms per call when some x >= 1000 (micro-batching tests)."""

    def predict(self, context, model_input: pd.DataFrame, params=None):
        if (model_input["x"] == -1).any():
            raise RuntimeError("x must not be -1 (a secret internal detail)")
        if (model_input["x"] == -2).any():
            raise ValueError("x must not be -2")
        if (model_input["x"] == 99).any():
            time.sleep(3)
        if (model_input["x"] >= 1000).any():
            time.sleep(0.05)  # a per-call cost, as real models have
        return model_input["x"] * 2


QUIRKY_SIGNATURE = ModelSignature(inputs=Schema([ColSpec("double", "x")]))


class CrossRow(PythonModel):
    """Centres `x` on the mean of the request's own rows and echoes the params it was given:
    a model whose answers change if other requests' rows are mixed into its input."""

    def predict(self, context, model_input: pd.DataFrame, params=None):
        centred = model_input["x"] - model_input["x"].mean()
        return pd.DataFrame({"centred": centred, "params": repr(params)})


CROSS_ROW_SIGNATURE = ModelSignature(inputs=Schema([ColSpec("double", "x")]))


def log_pyfunc(name: str, model: PythonModel, signature=None, example=None) -> str:
    """Log and register `model` as `name` version 1 with alias `test`; return its models:/ URI."""
    with mlflow.start_run(run_name=name):
        mlflow.pyfunc.log_model(
            name="model",
            python_model=model,
            signature=signature,
            input_example=example,
            registered_model_name=name,
            pip_requirements=["mlflow", "pandas", "scikit-learn"],
        )
    client = mlflow.MlflowClient()
    version = max(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    client.set_registered_model_alias(name, "test", str(version))
    return f"models:/{name}@test"


#: One row a client sends to the classifier below (a categorical column among numbers).
RECORD = {
    "amount": 912.4,
    "merchant_category": "electronics",
    "hour": 3,
    "day_of_week": 5,
    "user_age": 23,
    "account_balance": 120.0,
}
CATEGORIES = ("grocery", "electronics", "travel", "gaming")
NUMBER_RANGES = {
    "amount": (1.0, 2000.0),
    "hour": (0, 24),
    "day_of_week": (0, 7),
    "user_age": (18, 90),
    "account_balance": (0.0, 9000.0),
}


def classifier_rows(rows: int, seed: int = 0) -> pd.DataFrame:
    """Rows shaped like RECORD, drawn at random (no labels)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            name: rng.uniform(low, high, rows)
            if isinstance(low, float)
            else rng.integers(low, high, rows)
            for name, (low, high) in NUMBER_RANGES.items()
        }
    )
    frame.insert(1, "merchant_category", rng.choice(CATEGORIES, rows))
    return frame


def log_classifier(name: str) -> str:
    """A scikit-learn pipeline (one-hot category, a decision tree) answering predict_proba,
    with signature and input example, registered as `name` with alias `test`."""
    features = classifier_rows(600)
    label = (features["amount"] > features["account_balance"] / 4).astype(int)
    encode = ColumnTransformer(
        [("category", OneHotEncoder(handle_unknown="ignore"), ["merchant_category"])],
        remainder="passthrough",
    )
    model = Pipeline([("encode", encode), ("tree", DecisionTreeClassifier(max_depth=6))])
    model.fit(features, label)
    example = features.head(2)
    with warnings.catch_warnings():  # the integer columns never miss values here
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = mlflow.models.infer_signature(example, model.predict_proba(example))
    with mlflow.start_run(run_name=name):
        mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=example,
            pyfunc_predict_fn="predict_proba",
            registered_model_name=name,
            serialization_format="cloudpickle",
            pip_requirements=["mlflow", "pandas", "scikit-learn"],
        )
    mlflow.MlflowClient().set_registered_model_alias(name, "test", "1")
    return f"models:/{name}@test"
