"""The example model behind the service: `/predict` answers its fraud score."""

from collections.abc import Iterator

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package }}.train import demo_frame, train


@pytest.fixture(scope="module")
def example_uri(tracking_uri: str) -> str:
    return train(tracking_uri, "example-test", "test", rows=800, trees=8, seed=0)


@pytest.fixture(scope="module")
def example_client(example_uri: str, serve) -> Iterator[TestClient]:
    with serve(example_uri) as client:
        yield client


def test_predict_returns_the_fraud_score(example_client: TestClient, example_uri: str) -> None:
    record = demo_frame(1, seed=4).to_dict(orient="records")[0]
    response = example_client.post("/predict", json=record)
    assert response.status_code == 200, response.text
    expected = mlflow.pyfunc.load_model(example_uri).predict(pd.DataFrame([record]))[0][1]
    prediction = response.json()["prediction"]
    assert prediction["fraud_probability"] == round(expected, 6)
    assert prediction["is_fraud"] == (expected >= 0.5)
    assert prediction["confidence"] == round(max(expected, 1 - expected), 6)
