"""One test per route of the service contract, on a scikit-learn classifier."""

import json
import logging
import sys

import mlflow
import pandas as pd
from fastapi.testclient import TestClient

from {{ cookiecutter.package }}.outputs import answer_rows

from tests.service.models import RECORD


def test_predict_returns_the_answer_and_model(classifier_client, classifier_uri) -> None:
    response = classifier_client.post("/predict", json=RECORD)
    assert response.status_code == 200, response.text
    body = response.json()
    raw = mlflow.pyfunc.load_model(classifier_uri).predict(pd.DataFrame([RECORD]))
    assert body["prediction"] == answer_rows(raw)[0]  # through the repo's postprocess, if any
    assert body["model"] == {"name": "classifier-test", "version": "1"}
    assert body["prediction_time_ms"] > 0


def test_predict_batch_json_and_csv_agree(classifier_client: TestClient) -> None:
    records = [RECORD, {**RECORD, "merchant_category": "grocery", "hour": 12}]
    as_json = classifier_client.post("/predict/batch", json=records)
    csv_text = pd.DataFrame(records).to_csv(index=False)
    as_csv = classifier_client.post(
        "/predict/batch", content=csv_text, headers={"content-type": "text/csv"}
    )
    assert as_json.status_code == as_csv.status_code == 200, (as_json.text, as_csv.text)
    assert len(as_json.json()["predictions"]) == 2
    assert as_json.json()["predictions"] == as_csv.json()["predictions"]
    single = classifier_client.post("/predict", json=records[1]).json()["prediction"]
    assert as_json.json()["predictions"][1] == single


def test_invocations_answers_like_mlflow(
    classifier_client: TestClient, classifier_uri: str
) -> None:
    frame = pd.DataFrame([RECORD])
    expected = mlflow.pyfunc.load_model(classifier_uri).predict(frame).tolist()
    response = classifier_client.post("/invocations", json={"dataframe_records": [RECORD]})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_health(classifier_client: TestClient) -> None:
    assert classifier_client.get("/health/live").json() == {"status": "alive"}
    ready = classifier_client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_ready_is_503_outside_the_lifespan(classifier_uri: str, make_settings) -> None:
    from {{ cookiecutter.package }}.api import create_app

    client = TestClient(create_app(make_settings(model_uri=classifier_uri)))  # lifespan not run
    assert client.get("/health/ready").status_code == 503


def test_info_describes_model_and_card(classifier_client: TestClient, classifier_uri: str) -> None:
    info = classifier_client.get("/info").json()
    assert (
        info["name"] == "classifier-test"
        and info["version"] == "1"
        and info["uri"] == classifier_uri
    )
    assert info["run_id"] and "sklearn" in info["flavors"]
    names = [column["name"] for column in info["signature"]["inputs"]]
    assert names == list(RECORD)
    assert set(info["input_example"]) == set(RECORD)  # the catalog pre-fills its form with it
    assert info["image_tag"] == "dev" and info["loaded_at"]
    assert info["limits"]["max_request_rows"] >= 1
    assert info["card"]["kind"] == "Component"
    assert info["card_matches"] is False  # the repo's card names its own model, not this one


def test_metrics_count_predictions_and_expose_model_info(classifier_client: TestClient) -> None:
    classifier_client.post("/predict/batch", json=[RECORD] * 3)
    text = classifier_client.get("/metrics").text
    assert 'modelship_model_info{name="classifier-test",version="1"} 1.0' in text
    rows = [line for line in text.splitlines() if line.startswith("modelship_prediction_rows_")]
    assert any('route="/predict/batch"' in line and float(line.split()[-1]) >= 3 for line in rows)
    assert "modelship_prediction_latency_seconds_bucket" in text
    assert "http_requests_total" in text  # the instrumentator's HTTP metrics


def test_docs_and_openapi_show_the_signature(classifier_client: TestClient) -> None:
    assert classifier_client.get("/docs").status_code == 200
    spec = classifier_client.get("/openapi.json").json()
    record = spec["components"]["schemas"]["Record"]
    assert record["properties"]["merchant_category"]["type"] == "string"
    assert record["properties"]["hour"]["type"] == "integer"
    assert record["properties"]["amount"]["type"] == "number"
    assert set(record["required"]) == set(RECORD)
    assert set(record["examples"][0]) == set(RECORD)  # from the model's input example
    paths = spec["paths"]
    for route in ("/predict", "/predict/batch", "/invocations", "/health/ready", "/info"):
        assert route in paths
    batch = paths["/predict/batch"]["post"]["requestBody"]["content"]
    assert set(batch) == {"application/json", "text/csv"}


def test_request_id_is_echoed_or_made(classifier_client: TestClient) -> None:
    given = classifier_client.post("/predict", json=RECORD, headers={"x-request-id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = classifier_client.post("/predict", json=RECORD)
    assert len(made.headers["x-request-id"]) == 32


def test_logs_are_json_lines_with_the_request_id(classifier_client: TestClient, capsys) -> None:
    (handler,) = (h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)
    handler.setStream(sys.stdout)  # capsys swapped stdout after the app started
    classifier_client.get("/health/live", headers={"x-request-id": "log-me"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert any(
        line["request_id"] == "log-me" and line["message"] == "GET /health/live 200"
        for line in lines
    )


def test_info_says_when_the_card_describes_the_served_model(
    classifier_uri, serve, tmp_path
) -> None:
    card = {"metadata": {"annotations": {"modelship.io/registered-model": "classifier-test"}}}
    (tmp_path / "card.yaml").write_text(json.dumps(card))
    with serve(classifier_uri, card_path=tmp_path / "card.yaml") as client:
        assert client.get("/info").json()["card_matches"] is True
    with serve(classifier_uri, card_path=tmp_path / "missing.yaml") as client:
        info = client.get("/info").json()
    assert info["card"] is None and info["card_matches"] is None
