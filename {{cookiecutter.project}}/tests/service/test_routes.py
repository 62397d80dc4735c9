"""One test per route of the service contract, on the demo fraud model."""

import json
import logging
import sys

import mlflow
import pandas as pd
from fastapi.testclient import TestClient

from tests.conftest import FRAUD_RECORD


def test_predict_returns_fraud_score_and_model(fraud_client: TestClient, fraud_uri: str) -> None:
    response = fraud_client.post("/predict", json=FRAUD_RECORD)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = mlflow.pyfunc.load_model(fraud_uri).predict(pd.DataFrame([FRAUD_RECORD]))[0][1]
    assert body["prediction"]["fraud_probability"] == round(expected, 6)
    assert body["prediction"]["is_fraud"] == (expected >= 0.5)
    assert body["prediction"]["confidence"] == round(max(expected, 1 - expected), 6)
    assert body["model"] == {"name": "fraud-test", "version": "1"}
    assert body["prediction_time_ms"] > 0


def test_predict_batch_json_and_csv_agree(fraud_client: TestClient) -> None:
    records = [FRAUD_RECORD, {**FRAUD_RECORD, "merchant_category": "grocery", "hour": 12}]
    as_json = fraud_client.post("/predict/batch", json=records)
    csv_text = pd.DataFrame(records).to_csv(index=False)
    as_csv = fraud_client.post(
        "/predict/batch", content=csv_text, headers={"content-type": "text/csv"}
    )
    assert as_json.status_code == as_csv.status_code == 200, (as_json.text, as_csv.text)
    assert len(as_json.json()["predictions"]) == 2
    assert as_json.json()["predictions"] == as_csv.json()["predictions"]
    single = fraud_client.post("/predict", json=records[1]).json()["prediction"]
    assert as_json.json()["predictions"][1] == single


def test_invocations_answers_like_mlflow(fraud_client: TestClient, fraud_uri: str) -> None:
    frame = pd.DataFrame([FRAUD_RECORD])
    expected = mlflow.pyfunc.load_model(fraud_uri).predict(frame).tolist()
    response = fraud_client.post("/invocations", json={"dataframe_records": [FRAUD_RECORD]})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_health(fraud_client: TestClient) -> None:
    assert fraud_client.get("/health/live").json() == {"status": "alive"}
    ready = fraud_client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_ready_is_503_outside_the_lifespan(fraud_uri: str, make_settings) -> None:
    from {{ cookiecutter.package }}.api import create_app

    client = TestClient(create_app(make_settings(model_uri=fraud_uri)))  # lifespan not run
    assert client.get("/health/ready").status_code == 503


def test_info_describes_model_and_card(fraud_client: TestClient, fraud_uri: str) -> None:
    info = fraud_client.get("/info").json()
    assert info["name"] == "fraud-test" and info["version"] == "1" and info["uri"] == fraud_uri
    assert info["run_id"] and "sklearn" in info["flavors"]
    names = [column["name"] for column in info["signature"]["inputs"]]
    assert names == list(FRAUD_RECORD)
    assert info["image_tag"] == "dev" and info["loaded_at"]
    assert info["card"]["kind"] == "Component"


def test_metrics_count_predictions_and_expose_model_info(fraud_client: TestClient) -> None:
    fraud_client.post("/predict/batch", json=[FRAUD_RECORD] * 3)
    text = fraud_client.get("/metrics").text
    assert 'modelship_model_info{name="fraud-test",version="1"} 1.0' in text
    rows = [line for line in text.splitlines() if line.startswith("modelship_prediction_rows_")]
    assert any('route="/predict/batch"' in line and float(line.split()[-1]) >= 3 for line in rows)
    assert "modelship_prediction_latency_seconds_bucket" in text
    assert "http_requests_total" in text  # the instrumentator's HTTP metrics


def test_docs_and_openapi_show_the_signature(fraud_client: TestClient) -> None:
    assert fraud_client.get("/docs").status_code == 200
    spec = fraud_client.get("/openapi.json").json()
    record = spec["components"]["schemas"]["Record"]
    assert record["properties"]["merchant_category"]["type"] == "string"
    assert record["properties"]["hour"]["type"] == "integer"
    assert record["properties"]["amount"]["type"] == "number"
    assert set(record["required"]) == set(FRAUD_RECORD)
    assert set(record["examples"][0]) == set(FRAUD_RECORD)  # from the model's input example
    paths = spec["paths"]
    for route in ("/predict", "/predict/batch", "/invocations", "/health/ready", "/info"):
        assert route in paths
    batch = paths["/predict/batch"]["post"]["requestBody"]["content"]
    assert set(batch) == {"application/json", "text/csv"}


def test_request_id_is_echoed_or_made(fraud_client: TestClient) -> None:
    given = fraud_client.post("/predict", json=FRAUD_RECORD, headers={"x-request-id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = fraud_client.post("/predict", json=FRAUD_RECORD)
    assert len(made.headers["x-request-id"]) == 32


def test_logs_are_json_lines_with_the_request_id(fraud_client: TestClient, capsys) -> None:
    (handler,) = (h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)
    handler.setStream(sys.stdout)  # capsys swapped stdout after the app started
    fraud_client.get("/health/live", headers={"x-request-id": "log-me"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert any(
        line["request_id"] == "log-me" and line["message"] == "GET /health/live 200"
        for line in lines
    )
