"""Every error class of the contract: the status, a message naming the problem, no stack trace."""

import time

import pytest
from fastapi.testclient import TestClient

from tests.service.models import RECORD


def test_wrong_type_is_422_naming_the_field(classifier_client: TestClient) -> None:
    response = classifier_client.post("/predict", json={**RECORD, "hour": "late"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "hour"] and "integer" in error["msg"]


def test_missing_and_unknown_fields_are_422(classifier_client: TestClient) -> None:
    missing = {k: v for k, v in RECORD.items() if k != "amount"}
    response = classifier_client.post("/predict", json={**missing, "colour": "red"})
    assert response.status_code == 422
    problems = {(e["loc"][-1], e["type"]) for e in response.json()["detail"]}
    assert problems == {("amount", "missing"), ("colour", "extra_forbidden")}


def test_batch_errors_name_the_row_and_field(classifier_client: TestClient) -> None:
    response = classifier_client.post("/predict/batch", json=[RECORD, {**RECORD, "amount": "x"}])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 1, "amount"]


@pytest.mark.parametrize(
    ("route", "body", "content_type", "status"),
    [
        ("/predict", b"{not json", "application/json", 422),
        ("/predict/batch", b"[{not json", "application/json", 400),
        ("/predict/batch", b'{"a": 1}', "application/json", 422),
        ("/predict/batch", b"amount,hour\n1,2,3\n", "text/csv", 400),
        ("/predict/batch", b"\xff\xfe", "text/csv", 400),
        ("/predict/batch", b"<xml/>", "application/xml", 415),
        ("/invocations", b"{not json", "application/json", 400),
        ("/invocations", b'{"records": []}', "application/json", 400),
        ("/invocations", b"a,b\n1", "text/plain", 415),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(
    classifier_client, route, body, content_type, status
) -> None:
    response = classifier_client.post(route, content=body, headers={"content-type": content_type})
    assert response.status_code == status, response.text
    if route == "/invocations":  # MLflow's error body, as its clients read it
        assert response.json()["error_code"] == "BAD_REQUEST" and response.json()["message"]
    else:
        assert response.json()["detail"]
    assert response.json()["request_id"]
    assert "Traceback" not in response.text


def test_more_rows_than_the_limit_is_413(classifier_uri: str, serve) -> None:
    with serve(classifier_uri, max_request_rows=3, max_batch_size=3) as client:
        assert client.post("/predict/batch", json=[RECORD] * 3).status_code == 200
        response = client.post("/predict/batch", json=[RECORD] * 4)
        assert response.status_code == 413 and "MAX_REQUEST_ROWS=3" in response.json()["detail"]
        invocations = client.post("/invocations", json={"dataframe_records": [RECORD] * 4})
        assert invocations.status_code == 413


def test_model_exception_is_500_with_request_id_and_no_trace(other_uris, serve) -> None:
    with serve(other_uris["quirky"]) as client:
        response = client.post("/predict", json={"x": -1}, headers={"x-request-id": "boom-1"})
        metrics = client.get("/metrics").text
    assert response.status_code == 500
    assert response.json() == {
        "detail": "the model failed on this input; the log has the details",
        "request_id": "boom-1",
    }
    assert "secret internal detail" not in response.text
    assert 'modelship_prediction_errors_total{kind="model",route="/predict"} 1.0' in metrics


def test_prediction_over_the_timeout_is_504(other_uris, serve) -> None:
    with serve(other_uris["quirky"], request_timeout_s=0.5) as client:
        response = client.post("/predict", json={"x": 99})
        assert response.status_code == 504
        assert "REQUEST_TIMEOUT_S=0.5" in response.json()["detail"]
        # The slow call still holds the model for a while; then the service answers again.
        deadline = time.monotonic() + 15
        while (again := client.post("/predict", json={"x": 2})).status_code == 504:
            assert time.monotonic() < deadline
        assert again.json()["prediction"] == 4


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # the point
def test_a_value_the_model_rejects_is_422(other_uris, serve, classifier_client) -> None:
    with serve(other_uris["quirky"]) as client:
        response = client.post("/predict", json={"x": -2})
    assert response.status_code == 422
    assert response.json()["detail"] == "the model rejected the input: x must not be -2"
    huge = classifier_client.post("/predict", json={**RECORD, "account_balance": 1e300})
    assert huge.status_code == 422 and "too large" in huge.json()["detail"]


def test_unhandled_errors_are_500_with_the_request_id(classifier_uri, make_settings) -> None:
    from {{ cookiecutter.package }}.api import create_app

    app = create_app(make_settings(model_uri=classifier_uri))

    @app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("internal secret")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/explode", headers={"x-request-id": "rid-9"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "request_id": "rid-9"}
    assert response.headers["x-request-id"] == "rid-9"
