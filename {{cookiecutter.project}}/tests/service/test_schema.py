"""Request models generated from signatures: every column type, optional columns, tensors,
and models without a signature."""

import base64
import logging

import pytest

SAMPLE = {
    "text": "abc",
    "small": 2,
    "big": 3_000_000_000,
    "single": 1.5,
    "double": 2.0,
    "flag": True,
    "when": "2024-05-01T10:00:00",
    "blob": base64.b64encode(b"12345").decode(),
}


def test_every_column_type_is_typed_in_openapi_and_reaches_the_model(other_uris, serve) -> None:
    with serve(other_uris["every_type"]) as client:
        record = client.get("/openapi.json").json()["components"]["schemas"]["Record"]
        response = client.post("/predict", json=SAMPLE)
    types = {name: prop.get("type") for name, prop in record["properties"].items()}
    assert types == {
        "text": "string",
        "small": "integer",
        "big": "integer",
        "single": "number",
        "double": "number",
        "flag": "boolean",
        "when": "string",
        "blob": "string",
    }
    assert record["properties"]["when"]["format"] == "date-time"
    assert record["properties"]["blob"]["format"] == "base64"
    assert response.status_code == 200, response.text
    assert response.json()["prediction"] == {
        "text": "ABC",
        "total": 3_000_000_002,
        "ratio": 3.0,
        "flag": True,
        "year": 2024,
        "bytes": 5,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("small", 1.5), ("flag", "maybe"), ("when", "yesterday"), ("blob", "***"), ("text", 5)],
)
def test_each_type_rejects_what_it_cannot_be(other_uris, serve, field, value) -> None:
    with serve(other_uris["every_type"]) as client:
        response = client.post("/predict", json={**SAMPLE, field: value})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", field]


def test_optional_columns_are_optional_in_openapi(other_uris, serve) -> None:
    with serve(other_uris["regressor"]) as client:
        record = client.get("/openapi.json").json()["components"]["schemas"]["Record"]
    assert set(record["required"]) == {"size", "premium"}
    assert "floors" in record["properties"]


def test_tensor_signature_takes_fixed_length_lists(other_uris, serve) -> None:
    with serve(other_uris["tensor"]) as client:
        ok = client.post("/predict", json={"input": [1, 2, 3]})
        short = client.post("/predict", json={"input": [1, 2]})
        batch = client.post("/predict/batch", json=[{"input": [1, 1, 1]}, {"input": [2, 2, 2]}])
    assert ok.status_code == 200 and ok.json()["prediction"] == 6.0
    assert short.status_code == 422 and short.json()["detail"][0]["loc"] == ["body", "input"]
    assert batch.json()["predictions"] == [3.0, 6.0]


def test_no_signature_takes_free_form_records_with_a_warning(other_uris, serve, caplog) -> None:
    with caplog.at_level(logging.WARNING), serve(other_uris["no_signature"]) as client:
        response = client.post("/predict", json={"anything": 1, "goes": "here"})
        batch = client.post("/predict/batch", json=[{"a": 1}, {"a": 1, "b": 2, "c": 3}])
    assert any("no signature" in r.getMessage() for r in caplog.records)
    assert response.status_code == 200 and response.json()["prediction"] == 2
    assert batch.json()["predictions"] == [1, 3]
