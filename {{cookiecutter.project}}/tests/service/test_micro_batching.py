"""Concurrent /predict calls share model calls when MICRO_BATCHING is on, and each caller still
gets its own prediction; with it off, every call is its own model call."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest


def _model_calls(metrics: str) -> float:
    return float(re.search(r"^modelship_model_calls_total (\S+)$", metrics, re.MULTILINE)[1])


@pytest.mark.parametrize("batching", [True, False])
def test_concurrent_predictions_share_model_calls(other_uris, serve, batching) -> None:
    with serve(other_uris["quirky"], micro_batching=batching) as client:
        before = _model_calls(client.get("/metrics").text)
        xs = [1000.0 + i for i in range(24)]
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda x: client.post("/predict", json={"x": x}), xs))
        calls = _model_calls(client.get("/metrics").text) - before
    assert [a.json()["prediction"] for a in answers] == [2 * x for x in xs]
    if batching:
        assert calls < len(xs) / 2, calls
    else:
        assert calls == len(xs)
