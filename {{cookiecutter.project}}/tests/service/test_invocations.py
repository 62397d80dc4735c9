"""`/invocations` gives what `mlflow.pyfunc.load_model(uri).predict` gives, for every format."""

import json

import mlflow
import pandas as pd
import pytest
from mlflow.pyfunc import scoring_server
from mlflow.pyfunc.scoring_server import predictions_to_json

from tests.service.models import RECORD

REGRESSOR_ROWS = [
    {"size": 80.0, "premium": True, "floors": 2},
    {"size": 55.5, "premium": False, "floors": 1},
]


def _payloads(rows: list[dict]) -> dict[str, tuple[str, str]]:
    frame = pd.DataFrame(rows)
    return {
        "dataframe_split": (
            "application/json",
            json.dumps({"dataframe_split": frame.to_dict(orient="split") | {"index": None}}),
        ),
        "dataframe_records": ("application/json", json.dumps({"dataframe_records": rows})),
        "instances": ("application/json", json.dumps({"instances": rows})),
        "inputs": ("application/json", json.dumps({"inputs": rows})),
        "csv": ("text/csv", frame.to_csv(index=False)),
    }


def _expected(uri: str, rows: list[dict]) -> dict:
    import io

    out = io.StringIO()
    predictions_to_json(mlflow.pyfunc.load_model(uri).predict(pd.DataFrame(rows)), out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize(
    "fmt", ["dataframe_split", "dataframe_records", "instances", "inputs", "csv"]
)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_every_format_matches_pyfunc_predict(kind, fmt, classifier_uri, other_uris, serve) -> None:
    uri, rows = (
        (classifier_uri, [RECORD, {**RECORD, "merchant_category": "fuel"}])
        if kind == "classifier"
        else (other_uris["regressor"], REGRESSOR_ROWS)
    )
    content_type, body = _payloads(rows)[fmt]
    with serve(uri) as client:
        response = client.post("/invocations", content=body, headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    assert response.json() == _expected(uri, rows)


def test_optional_column_may_be_left_out(other_uris, serve) -> None:
    rows = [{"size": 80.0, "premium": True}]
    with serve(other_uris["regressor"]) as client:
        response = client.post("/invocations", json={"dataframe_records": rows})
        typed = client.post("/predict", json=rows[0])
    assert response.status_code == typed.status_code == 200, (response.text, typed.text)
    assert response.json() == _expected(other_uris["regressor"], rows)
    assert typed.json()["prediction"] == response.json()["predictions"][0]


def test_tensor_inputs_match(other_uris, serve) -> None:
    instances = [[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]
    with serve(other_uris["tensor"]) as client:
        response = client.post("/invocations", json={"inputs": instances})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [6.0, 1.5]}


def test_odd_shapes_get_a_4xx_not_a_500(classifier_client) -> None:
    for body in ({"instances": {"": {"": False, ".exe": -114}}}, {"inputs": 5}, {"instances": []}):
        response = classifier_client.post("/invocations", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)


SPLIT_BODIES = [
    # ints where the signature says double, in every numeric column
    {"columns": list(RECORD), "data": [[100, "fuel", 1, 2, 30, 5]]},
    # a null in a required column, a bool in a long column, strings for numbers
    {"columns": list(RECORD), "data": [[None, "fuel", 1, 2, 30, 5.0]]},
    {"columns": list(RECORD), "data": [[1.0, "fuel", True, 2, 30, 5.0]]},
    {"columns": list(RECORD), "data": [["1.5", "fuel", "3", 2, 30, 5.0]]},
    # columns in another order, and an extra column
    {"columns": list(reversed(RECORD)), "data": [list(reversed(RECORD.values()))]},
    {"columns": [*RECORD, "extra"], "data": [[*RECORD.values(), 1]]},
]


@pytest.mark.parametrize("split", SPLIT_BODIES)
def test_dataframe_split_answers_like_mlflows_own_scoring_function(
    split, classifier_client, classifier_uri
) -> None:
    """MLflow's scoring server function is the oracle: same predictions, or both refuse."""
    model = mlflow.pyfunc.load_model(classifier_uri)
    body = json.dumps({"dataframe_split": split})
    try:
        expected = scoring_server.invocations(
            body, "application/json", model, model.metadata.get_input_schema()
        )
    except Exception:
        expected = None
    response = classifier_client.post(
        "/invocations", content=body, headers={"content-type": "application/json"}
    )
    if expected is None or expected.status != 200:
        assert 400 <= response.status_code < 500, response.text
    else:
        assert response.status_code == 200, response.text
        assert response.json() == json.loads(expected.response)
