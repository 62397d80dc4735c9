"""MICRO_BATCHING=auto batches only models that score rows independently, and says why.

A model that looks across the rows of a request (here: centring on the request's mean) must get
exactly the request's rows, as `mlflow models serve` gives it; a row-wise sklearn model is
still batched. A batch with a bad request in it costs a few extra model calls, not one per row.
"""

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from {{ cookiecutter.package }}.microbatch import batching_policy

from tests.service.models import RECORD

JSON = {"content-type": "application/json"}


def _model_calls(metrics: str) -> float:
    return float(re.search(r"^modelship_model_calls_total (\S+)$", metrics, re.MULTILINE)[1])


def _concurrent_invocations(client, xs: list[float]) -> list[dict]:
    def call(x: float) -> dict:
        body = {"dataframe_split": {"columns": ["x"], "data": [[x]]}}
        return client.post("/invocations", json=body).json()

    with ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(call, xs))


@pytest.mark.parametrize("mode", ["auto", "off", "on"])
def test_a_cross_row_model_keeps_its_unbatched_answers(other_uris, serve, mode) -> None:
    xs = [float(i) for i in range(32)]
    with serve(other_uris["cross_row"], micro_batching=mode) as client:
        info = client.get("/info").json()["micro_batching"]
        before = _model_calls(client.get("/metrics").text)
        answers = [a for _ in range(3) for a in _concurrent_invocations(client, xs)]
        calls = _model_calls(client.get("/metrics").text) - before
    centred = [a["predictions"][0]["centred"] for a in answers]
    assert info["enabled"] is (mode == "on"), info
    if mode == "on":  # the probe can see mixing: forced batching changes answers
        assert calls < len(answers) and any(c != 0 for c in centred), calls
    else:
        assert calls == len(answers) and centred == [0.0] * len(answers), calls


def test_the_demo_model_is_batched_under_auto(classifier_client) -> None:
    info = classifier_client.get("/info").json()["micro_batching"]
    assert info == {
        "enabled": True,
        "reason": "auto: the sklearn flavour scores rows independently",
    }
    before = _model_calls(classifier_client.get("/metrics").text)
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(
            pool.map(lambda _: classifier_client.post("/predict", json=RECORD), range(32))
        )
    assert all(a.status_code == 200 for a in answers)
    assert _model_calls(classifier_client.get("/metrics").text) - before < 32


def test_the_card_can_declare_rows_independent() -> None:
    card = {"metadata": {"annotations": {"modelship.io/row-independent": "true"}}}
    assert batching_policy("auto", ("python_function",), card).enabled
    assert not batching_policy("auto", ("python_function",), {"metadata": {}}).enabled
    assert not batching_policy("off", ("python_function", "sklearn"), card).enabled


def test_requests_with_params_are_never_batched(other_uris, serve) -> None:
    with serve(other_uris["cross_row"], micro_batching="on") as client:
        body = {"dataframe_split": {"columns": ["x"], "data": [[5.0]]}, "params": {}}
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda _: client.post("/invocations", json=body), range(16)))
    assert {a.json()["predictions"][0]["centred"] for a in answers} == {0.0}


def test_params_reach_the_model_as_sent(other_uris, serve) -> None:
    with serve(other_uris["cross_row"]) as client:
        split = {"columns": ["x"], "data": [[1.0]]}
        empty = client.post("/invocations", json={"dataframe_split": split, "params": {}})
        none = client.post("/invocations", json={"dataframe_split": split})
    assert empty.json()["predictions"][0]["params"] == "{}"
    assert none.json()["predictions"][0]["params"] == "None"


def test_a_bad_request_costs_few_extra_model_calls(other_uris, serve) -> None:
    """One request in sixteen makes the model raise: the batch is halved until it is found,
    instead of every request in it being scored again alone. Values the rules refuse (here
    NaN, one request in four) never reach the model at all."""
    xs = [-2.0 if i % 16 == 0 else 1000.0 + i for i in range(64)]
    bodies = [json.dumps({"x": x}) for x in xs] + ['{"x": NaN}'] * 21
    with serve(other_uris["quirky"], micro_batching="on") as client:
        before = _model_calls(client.get("/metrics").text)
        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(
                pool.map(lambda body: client.post("/predict", content=body, headers=JSON), bodies)
            )
        calls = _model_calls(client.get("/metrics").text) - before
    for body, answer in zip(bodies, answers, strict=True):
        assert answer.status_code == (422 if "-2.0" in body or "NaN" in body else 200), body
    assert calls < 48, calls  # scoring each request of a failed batch alone costs about 70
