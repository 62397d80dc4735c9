"""Input that once reached a 5xx, or a prediction it should not have: now a 4xx naming the field
and the row, the same rules on every route and format."""

import io
import json

import mlflow
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.pyfunc import scoring_server

from tests.service.models import RECORD

EVERY_TYPE_ROW = {
    "text": "a",
    "small": 1,
    "big": 2,
    "single": 1.5,
    "double": 2.5,
    "flag": True,
    "when": "2024-01-02T03:04:05",
    "blob": "aGk=",
}


def _invoke(client, body: str | bytes, content_type: str = "application/json"):
    return client.post("/invocations", content=body, headers={"content-type": content_type})


@pytest.mark.parametrize(("column", "value"), [("small", 2**31 + 7), ("big", 2**63 + 7)])
def test_integers_out_of_range_are_400_naming_the_column(other_uris, serve, column, value) -> None:
    split = {
        "columns": list(EVERY_TYPE_ROW),
        "data": [list({**EVERY_TYPE_ROW, column: value}.values())],
    }
    with serve(other_uris["every_type"]) as client:
        response = _invoke(client, json.dumps({"dataframe_split": split}))
        typed = client.post("/predict", json={**EVERY_TYPE_ROW, column: value})
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "BAD_REQUEST"
    assert f"'{column}', row 0" in response.json()["message"]
    assert typed.status_code == 422 and typed.json()["detail"][0]["loc"] == ["body", column]


def test_a_double_beyond_a_float_column_is_refused_everywhere(other_uris, serve) -> None:
    """2^128 - 2^103 rounds to infinity as float32: refused like an out-of-range integer."""
    row = {**EVERY_TYPE_ROW, "single": 3.4028235677973366e38}
    with serve(other_uris["every_type"]) as client:
        one = client.post("/predict", json=row)
        many = client.post("/predict/batch", json=[EVERY_TYPE_ROW, row])
        split = {"columns": list(row), "data": [list(row.values())]}
        mlflow_like = _invoke(client, json.dumps({"dataframe_split": split}))
        records = _invoke(client, json.dumps({"dataframe_records": [row]}))
    assert one.status_code == many.status_code == 422, (one.text, many.text)
    assert one.json()["detail"][0]["loc"] == ["body", "single"]
    assert many.json()["detail"][0]["loc"][1:] == [1, "single"]
    assert mlflow_like.status_code == records.status_code == 400, (mlflow_like.text, records.text)
    assert "'single', row 0" in records.json()["message"]


def test_an_object_in_a_string_column_is_400(other_uris, serve) -> None:
    records = [{**EVERY_TYPE_ROW, "text": {"nested": 1}}]
    with serve(other_uris["every_type"]) as client:
        response = client.post("/invocations", json={"dataframe_records": records})
    assert response.status_code == 400, response.text
    assert "'text', row 0" in response.json()["message"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused_on_every_route(classifier_client, token) -> None:
    record = json.dumps({**RECORD, "amount": 0.0}).replace("0.0", token, 1)
    one = classifier_client.post(
        "/predict", content=record, headers={"content-type": "application/json"}
    )
    many = classifier_client.post(
        "/predict/batch",
        content=f"[{json.dumps(RECORD)}, {record}]",
        headers={"content-type": "application/json"},
    )
    split = {"columns": list(RECORD), "data": [list(RECORD.values())] * 2}
    body = json.dumps({"dataframe_split": split}).replace("912.4", token).replace(token, "912.4", 1)
    invoked = _invoke(classifier_client, body)
    assert one.status_code == 422 and one.json()["detail"][0]["loc"] == ["body", "amount"]
    assert many.status_code == 422 and many.json()["detail"][0]["loc"] == ["body", 1, "amount"]
    assert invoked.status_code == 400, invoked.text
    assert "'amount', row 1" in invoked.json()["message"]


def test_allow_nan_lets_them_through(classifier_uri, serve) -> None:
    with serve(classifier_uri, allow_nan=True) as client:
        record = json.dumps({**RECORD, "amount": 0.0}).replace("0.0", "NaN", 1)
        response = client.post(
            "/predict", content=record, headers={"content-type": "application/json"}
        )
    assert response.status_code == 200, response.text


def test_strings_longer_than_the_limit_are_refused(classifier_uri, serve) -> None:
    with serve(classifier_uri, max_string_length=11) as client:  # "electronics" just fits
        long = {**RECORD, "merchant_category": "x" * 12}
        typed = client.post("/predict", json=long)
        invoked = client.post("/invocations", json={"dataframe_records": [RECORD, long]})
    assert typed.status_code == 422 and typed.json()["detail"][0]["loc"] == [
        "body",
        "merchant_category",
    ]
    assert invoked.status_code == 400 and "'merchant_category', row 1" in invoked.json()["message"]


def test_parquet_bodies_are_scored(classifier_client) -> None:
    buffer = io.BytesIO()
    pd.DataFrame([RECORD] * 2).to_parquet(buffer)
    parquet = _invoke(classifier_client, buffer.getvalue(), "application/vnd.apache.parquet")
    records = classifier_client.post("/invocations", json={"dataframe_records": [RECORD] * 2})
    assert parquet.status_code == 200, parquet.text
    assert parquet.json() == records.json()


def test_unified_llm_inputs_are_answered_unwrapped(other_uris, serve) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}
    model = mlflow.pyfunc.load_model(other_uris["no_signature"])
    expected = scoring_server.invocations(json.dumps(body), "application/json", model, None)
    with serve(other_uris["no_signature"]) as client:
        response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == json.loads(expected.response)
    assert "predictions" not in response.text


def test_empty_and_nested_inputs_are_not_a_5xx(classifier_client) -> None:
    """Found by schemathesis: empty lists and nested objects under `inputs`."""
    for body in (
        {"inputs": {"a": {"b": 1.5}, "c": []}},
        {"inputs": {"x": []}},
        {"instances": [[]]},
    ):
        response = classifier_client.post("/invocations", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)


def test_unsupported_types_name_the_accepted_ones(classifier_client) -> None:
    response = _invoke(classifier_client, b"<x/>", "application/xml")
    assert response.status_code == 415
    assert "application/vnd.apache.parquet" in response.json()["message"]


_WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),  # non-finite: a test of their own above
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


# pandas warns while it refuses a number as a datetime: the refusal is what is tested
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(column=st.sampled_from(list(EVERY_TYPE_ROW)), value=_WRONG_VALUES)
def test_no_value_of_any_type_reaches_a_5xx(every_type_client, column, value) -> None:
    row = {**EVERY_TYPE_ROW, column: value}
    answers = [
        every_type_client.post("/predict", json=row),
        every_type_client.post("/predict/batch", json=[EVERY_TYPE_ROW, row]),
        every_type_client.post("/invocations", json={"dataframe_records": [row]}),
        every_type_client.post(
            "/invocations",
            json={"dataframe_split": {"columns": list(row), "data": [list(row.values())]}},
        ),
    ]
    for answer in answers:
        assert answer.status_code < 500, (column, value, answer.request.url, answer.text)


@pytest.fixture(scope="module")
def every_type_client(other_uris, serve):
    with serve(other_uris["every_type"]) as client:
        yield client
