"""Fixtures: a temporary MLflow store with real tiny models, and clients of the real app."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package }}.api import create_app
from {{ cookiecutter.package }}.settings import Settings
from {{ cookiecutter.package }}.train import train, use_experiment

from tests import models

FRAUD_RECORD = {
    "amount": 912.4,
    "merchant_category": "electronics",
    "hour": 3,
    "day_of_week": 5,
    "user_age": 23,
    "account_balance": 120.0,
}


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking store and registry in a temporary SQLite file."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri


@pytest.fixture(scope="session")
def fraud_uri(tracking_uri: str) -> str:
    """The demo fraud classifier (categorical column, predict_proba), trained small."""
    return train(tracking_uri, "fraud-test", "test", rows=800, trees=8, seed=0)


@pytest.fixture(scope="session")
def other_uris(tracking_uri: str) -> dict[str, str]:
    """The other test models by kind, registered once for the session."""
    use_experiment(tracking_uri, "other-models")
    example = pd.DataFrame({"size": [80.0], "premium": [True], "floors": [2]})
    return {
        "regressor": models.log_pyfunc(
            "regressor", models.Regressor(), models.REGRESSOR_SIGNATURE, example
        ),
        "every_type": models.log_pyfunc(
            "every-type", models.EveryType(), models.EVERY_TYPE_SIGNATURE
        ),
        "tensor": models.log_pyfunc("tensor", models.TensorSum(), models.TENSOR_SIGNATURE),
        "no_signature": models.log_pyfunc("no-signature", models.Echo()),
        "quirky": models.log_pyfunc("quirky", models.Quirky(), models.QUIRKY_SIGNATURE),
        "cross_row": models.log_pyfunc("cross-row", models.CrossRow(), models.CROSS_ROW_SIGNATURE),
    }


@pytest.fixture(scope="session")
def make_settings(tracking_uri: str, tmp_path_factory) -> Callable[..., Settings]:
    card = Path(__file__).resolve().parent.parent / "catalog-info.yaml"

    def make(**overrides) -> Settings:
        values = {"mlflow_tracking_uri": tracking_uri, "card_path": card, "log_level": "INFO"}
        return Settings(_env_file=None, **(values | overrides))

    return make


@pytest.fixture(scope="session")
def serve(make_settings) -> Callable[..., TestClient]:
    """`with serve(model_uri, **settings) as client:` runs the real app (lifespan included)."""

    @contextmanager
    def run(model_uri: str, **overrides) -> Iterator[TestClient]:
        app = create_app(make_settings(model_uri=model_uri, **overrides))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client

    return run


@pytest.fixture(scope="module")
def fraud_client(fraud_uri: str, serve) -> Iterator[TestClient]:
    with serve(fraud_uri) as client:
        yield client
