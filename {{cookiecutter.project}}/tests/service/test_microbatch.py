"""The micro-batcher: same predictions as unbatched calls, failures kept to their own request."""

import asyncio
import threading
import time

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from {{ cookiecutter.package }}.microbatch import MicroBatcher

from tests.service.models import classifier_rows


@pytest.fixture(scope="module")
def classifier() -> LogisticRegression:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    return LogisticRegression().fit(x, (x["a"] + x["b"] > 0).astype(int))


def frames(count: int, rows: int = 1, seed: int = 1) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return [
        pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)}) for _ in range(count)
    ]


class CountingModel:
    """Wraps a predict function, counts calls and the rows of each, and is slow enough that
    concurrent requests pile up while it works."""

    def __init__(self, predict, seconds: float = 0.02) -> None:
        self.predict_fn, self.seconds, self.calls, self.threads = predict, seconds, [], set()

    def __call__(self, frame: pd.DataFrame):
        self.calls.append(len(frame))
        self.threads.add(threading.get_ident())
        time.sleep(self.seconds)
        return self.predict_fn(frame)


async def submit_all(batcher: MicroBatcher, inputs: list[pd.DataFrame]) -> list:
    try:
        return await asyncio.gather(*(batcher.submit(f) for f in inputs), return_exceptions=True)
    finally:
        await batcher.close()


def test_batched_predictions_equal_unbatched(classifier) -> None:
    inputs = frames(40, rows=1) + frames(10, rows=7, seed=2)
    model = CountingModel(classifier.predict_proba)
    outputs = asyncio.run(submit_all(MicroBatcher(model, 64, 2), inputs))
    for frame, output in zip(inputs, outputs, strict=True):
        # A linear model goes through BLAS, whose kernel for many rows may round the last bit
        # otherwise than the one for a single row (seen on AVX-512 CPUs): equal to 1e-12, not
        # bit for bit. Tree models are bit for bit (the next test); README, MICRO_BATCHING.
        np.testing.assert_allclose(output, classifier.predict_proba(frame), rtol=1e-12, atol=0)
    assert len(model.calls) < len(inputs), "concurrent requests were not batched"
    assert max(model.calls) <= 64
    assert sum(model.calls) == sum(len(f) for f in inputs)
    assert len(model.threads) == 1 and threading.get_ident() not in model.threads


def test_batching_never_changes_the_served_models_predictions(classifier_uri) -> None:
    model = mlflow.pyfunc.load_model(classifier_uri)
    inputs = [classifier_rows(1, seed=seed) for seed in range(30)] + [classifier_rows(9, seed=99)]
    outputs = asyncio.run(submit_all(MicroBatcher(model.predict, 64, 2), inputs))
    for frame, output in zip(inputs, outputs, strict=True):
        np.testing.assert_array_equal(output, model.predict(frame))


def test_failing_row_fails_only_its_own_request(classifier) -> None:
    inputs = frames(12)
    inputs[5] = pd.DataFrame({"a": [np.nan], "b": [0.0]})  # sklearn refuses NaN
    outputs = asyncio.run(
        submit_all(MicroBatcher(CountingModel(classifier.predict), 64, 2), inputs)
    )
    assert isinstance(outputs[5], ValueError)
    for index, (frame, output) in enumerate(zip(inputs, outputs, strict=True)):
        if index != 5:
            np.testing.assert_array_equal(output, classifier.predict(frame))


@pytest.mark.parametrize(
    "predict",
    [
        lambda f: pd.Series(f["a"] * 2, name="y"),
        lambda f: pd.DataFrame({"y": f["a"] * 2, "z": f["b"]}, index=f.index + 100),
        lambda f: (f["a"] * 2).tolist(),
        lambda f: {"y": (f["a"] * 2).to_numpy(), "z": f["b"].to_numpy()},
    ],
    ids=["series", "dataframe", "list", "dict"],
)
def test_every_output_type_is_split_per_request(predict) -> None:
    inputs = frames(6, rows=3)
    outputs = asyncio.run(submit_all(MicroBatcher(CountingModel(predict), 64, 2), inputs))
    for frame, output in zip(inputs, outputs, strict=True):
        expected = predict(frame.reset_index(drop=True))
        if isinstance(expected, pd.DataFrame):
            pd.testing.assert_frame_equal(output, expected.reset_index(drop=True))
        elif isinstance(expected, pd.Series):
            pd.testing.assert_series_equal(output, expected.reset_index(drop=True))
        elif isinstance(expected, dict):
            assert output.keys() == expected.keys()
            for key in expected:
                np.testing.assert_array_equal(output[key], expected[key])
        else:
            assert output == expected


def test_frames_of_different_columns_are_never_mixed(classifier) -> None:
    seen: list[tuple[str, ...]] = []

    def predict(frame: pd.DataFrame):
        seen.append(tuple(frame.columns))
        time.sleep(0.01)
        return np.zeros(len(frame))

    inputs = frames(5) + [f.rename(columns={"b": "c"}) for f in frames(5)]
    outputs = asyncio.run(submit_all(MicroBatcher(predict, 64, 2), inputs))
    assert all(len(o) == 1 for o in outputs)
    assert set(seen) == {("a", "b"), ("a", "c")}


def test_a_lone_request_does_not_wait_for_companions(classifier) -> None:
    async def lone() -> float:
        batcher = MicroBatcher(classifier.predict, 64, max_delay_ms=500)
        try:
            for frame in frames(3):  # one after another: never a companion to wait for
                started = time.perf_counter()
                await batcher.submit(frame)
            return time.perf_counter() - started
        finally:
            await batcher.close()

    assert asyncio.run(lone()) < 0.25


def test_closed_batcher_refuses_new_frames(classifier) -> None:
    async def run() -> None:
        batcher = MicroBatcher(classifier.predict, 8, 1)
        await batcher.close()
        with pytest.raises(RuntimeError, match="closed"):
            await batcher.submit(frames(1)[0])

    asyncio.run(run())
