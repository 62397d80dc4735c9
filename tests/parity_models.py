"""The four models the service is compared on with `mlflow models serve` (tests/test_mlflow_parity).

A scikit-learn pipeline with a categorical column; a pyfunc with params that answers a
DataFrame and ranks rows within the request; a tensor model; a model without a signature that
answers MLflow's unified LLM inputs. All are trained here on a few generated rows.
"""

from __future__ import annotations

import os

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
import parity_models as this_module
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

# Pickled by value, so `mlflow models serve` loads them without this file on its path.
cloudpickle.register_pickle_by_value(this_module)


class RankWithin(PythonModel):
    """Ranks `score` within the request (a model that must see exactly the request's rows)."""

    def predict(self, context, model_input: pd.DataFrame, params=None):
        scale = (params or {}).get("scale", 1.0)
        return pd.DataFrame(
            {
                "rank": model_input["score"].rank(method="first").astype(int),
                "scaled": model_input["score"] * scale,
            }
        )


class TensorSum(PythonModel):
    def predict(self, context, model_input: np.ndarray, params=None):
        return np.asarray(model_input, dtype="float32").sum(axis=1)


class Chat(PythonModel):
    """No signature: answers chat, completion and embedding inputs with what it was given."""

    def predict(self, context, model_input: pd.DataFrame, params=None):
        frame = pd.DataFrame(model_input)
        if "messages" in frame:
            return {"choices": [{"message": {"role": "assistant", "content": str(len(frame))}}]}
        if "prompt" in frame:
            return {"choices": [{"text": str(frame["prompt"].iloc[0])[::-1]}]}
        if "input" in frame:
            return {"data": [{"embedding": [float(len(str(v)))]} for v in frame["input"]]}
        return [int(row.notna().sum()) for _, row in frame.iterrows()]


def log_all(tracking_uri: str) -> dict[str, str]:
    """Log and register the four models; their models:/ URIs by kind.

    ``mlflow.set_tracking_uri`` and ``set_registry_uri`` also export ``MLFLOW_TRACKING_URI``
    and ``MLFLOW_REGISTRY_URI`` to the environment: both are put back as they were, or a later
    test of the same pytest-xdist worker registers its models into this store."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    try:
        return _log_all(tracking_uri)
    finally:
        mlflow.set_tracking_uri(saved["MLFLOW_TRACKING_URI"])  # None unsets the variable
        mlflow.set_registry_uri(saved["MLFLOW_REGISTRY_URI"])  # None leaves it set
        if saved["MLFLOW_REGISTRY_URI"] is None:
            os.environ.pop("MLFLOW_REGISTRY_URI", None)


def _log_all(tracking_uri: str) -> dict[str, str]:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "amount": rng.random(60) * 100,
            "kind": rng.choice(["food", "fuel", "travel"], 60),
            "count": rng.integers(0, 5, 60),
        }
    )
    labels = (frame["amount"] > 50) ^ (frame["kind"] == "fuel")
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [("kind", OneHotEncoder(handle_unknown="ignore"), ["kind"])],
                    remainder="passthrough",
                ),
            ),
            ("classify", LogisticRegression()),
        ]
    ).fit(frame, labels)
    uris = {}
    with mlflow.start_run(run_name="parity"):
        mlflow.sklearn.log_model(
            pipeline,
            name="sklearn",
            signature=infer_signature(frame, pipeline.predict(frame)),
            input_example=frame.head(2),
            serialization_format="cloudpickle",
            registered_model_name="parity-sklearn",
        )
        ranked = ModelSignature(
            inputs=Schema([ColSpec("string", "id"), ColSpec("double", "score")]),
            params=ParamSchema([ParamSpec("scale", "double", 1.0)]),
        )
        tensor = ModelSignature(inputs=Schema([TensorSpec(np.dtype("float32"), (-1, 3))]))
        for name, model, signature in (
            ("rank", RankWithin(), ranked),
            ("tensor", TensorSum(), tensor),
            ("chat", Chat(), None),
        ):
            mlflow.pyfunc.log_model(
                name=name,
                python_model=model,
                signature=signature,
                registered_model_name=f"parity-{name}",
                pip_requirements=["mlflow", "pandas"],
            )
    for kind in ("sklearn", "rank", "tensor", "chat"):
        uris[kind] = f"models:/parity-{kind}/1"
    return uris
