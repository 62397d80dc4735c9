"""The baked service against a real `mlflow models serve`, side by side on loopback.

Four models (tests/parity_models.py), each served by both; the payload shapes of MLflow's own
scoring-server tests plus edge cases go to both `/invocations`. Both must answer with the same
status class, and with equal bodies when they succeed. Where we refuse on purpose what MLflow
accepts (`DELIBERATE`), the test says so and checks that we do refuse, naming the field.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest
from baking import bake
from parity_models import log_all
from test_baked_repo import free_port

pytestmark = pytest.mark.slow

SKLEARN_ROW = {"amount": 61.5, "kind": "fuel", "count": 2}
RANK_ROWS = [{"id": "a", "score": 3.0}, {"id": "b", "score": 1.0}, {"id": "c", "score": 2.0}]
JSON = "application/json"


def _csv(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode()


def _parquet(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame(rows).to_parquet(buffer)
    return buffer.getvalue()


def _split(rows: list[dict], **extra) -> dict:
    return {
        "dataframe_split": {"columns": list(rows[0]), "data": [list(r.values()) for r in rows]}
    } | extra


# (model, case name, body, content type): bodies are JSON-able objects, or bytes as sent.
CASES = [
    ("sklearn", "split", _split([SKLEARN_ROW] * 2), JSON),
    (
        "sklearn",
        "split-with-index",
        {"dataframe_split": {"index": [5, 6], **_split([SKLEARN_ROW] * 2)["dataframe_split"]}},
        JSON,
    ),
    (
        "sklearn",
        "records",
        {"dataframe_records": [SKLEARN_ROW, {**SKLEARN_ROW, "kind": "food"}]},
        JSON,
    ),
    ("sklearn", "instances", {"instances": [SKLEARN_ROW]}, JSON),
    ("sklearn", "inputs-columns", {"inputs": {k: [v] for k, v in SKLEARN_ROW.items()}}, JSON),
    ("sklearn", "csv", _csv([SKLEARN_ROW] * 3), "text/csv"),
    ("sklearn", "parquet", _parquet([SKLEARN_ROW] * 2), "application/vnd.apache.parquet"),
    (
        "sklearn",
        "charset",
        json.dumps(_split([SKLEARN_ROW])).encode(),
        "application/json; charset=UTF-8",
    ),
    ("sklearn", "ints-for-doubles", _split([{**SKLEARN_ROW, "amount": 61}]), JSON),
    ("sklearn", "unknown-category", _split([{**SKLEARN_ROW, "kind": "boat"}]), JSON),
    ("sklearn", "missing-column", {"dataframe_records": [{"amount": 1.0, "kind": "food"}]}, JSON),
    ("sklearn", "extra-column", {"dataframe_records": [{**SKLEARN_ROW, "extra": 1}]}, JSON),
    ("sklearn", "string-for-number", {"dataframe_records": [{**SKLEARN_ROW, "amount": "x"}]}, JSON),
    (
        "sklearn",
        "two-formats",
        {"dataframe_records": [SKLEARN_ROW], "instances": [SKLEARN_ROW]},
        JSON,
    ),
    ("sklearn", "no-format", {"records": [SKLEARN_ROW]}, JSON),
    ("sklearn", "a-list", [SKLEARN_ROW], JSON),
    ("sklearn", "malformed-json", b"{not json", JSON),
    ("sklearn", "not-utf8", b"\xff\xfe", "text/csv"),
    ("sklearn", "unsupported-type", b"<x/>", "application/xml"),
    (
        "sklearn",
        "unknown-parameter",
        json.dumps(_split([SKLEARN_ROW])).encode(),
        "application/json; format=pandas-split",
    ),
    (
        "sklearn",
        "other-charset",
        json.dumps(_split([SKLEARN_ROW])).encode(),
        "application/json; charset=latin-1",
    ),
    ("rank", "split", _split(RANK_ROWS), JSON),
    ("rank", "records", {"dataframe_records": RANK_ROWS}, JSON),
    ("rank", "params", _split(RANK_ROWS, params={"scale": 2.0}), JSON),
    ("rank", "empty-params", _split(RANK_ROWS, params={}), JSON),
    ("rank", "unknown-param", _split(RANK_ROWS, params={"other": 1}), JSON),
    ("rank", "wrong-param-type", _split(RANK_ROWS, params={"scale": "big"}), JSON),
    ("rank", "csv", _csv(RANK_ROWS), "text/csv"),
    ("tensor", "inputs", {"inputs": [[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]}, JSON),
    ("tensor", "instances", {"instances": [[1.0, 2.0, 3.0]]}, JSON),
    ("tensor", "wrong-shape", {"inputs": [[1.0, 2.0]]}, JSON),
    ("tensor", "scalar", {"inputs": 5}, JSON),
    (
        "chat",
        "messages",
        {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.1},
        JSON,
    ),
    ("chat", "prompt", {"prompt": "abc", "max_tokens": 5}, JSON),
    ("chat", "embeddings", {"input": ["ab", "cde"]}, JSON),
    ("chat", "records", {"dataframe_records": [{"a": 1, "b": None}, {"a": 2, "b": 3}]}, JSON),
]

# Values the model should never see: we refuse them naming the field and row. MLflow lets an
# out-of-range integer through (200, cast to the column's type) and answers NaN and Infinity
# with whatever the model does (this one raises: 400 with a stack trace).
DELIBERATE = [
    (
        "sklearn",
        "nan",
        json.dumps(_split([SKLEARN_ROW])).replace("61.5", "NaN").encode(),
        "'amount', row 0",
    ),
    (
        "sklearn",
        "infinity",
        json.dumps(_split([SKLEARN_ROW])).replace("61.5", "Infinity").encode(),
        "'amount', row 0",
    ),
    ("sklearn", "long-overflow", _split([{**SKLEARN_ROW, "count": 2**63 + 7}]), "'count', row 0"),
]


def _wait(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within 240 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[str, dict[str, str]]]:
    """{model: {"ours": url, "mlflow": url}} with all eight servers running."""
    root = tmp_path_factory.mktemp("parity")
    tracking = f"sqlite:///{root / 'mlflow.db'}"
    uris = log_all(tracking)
    project = bake(root, project="credit-scorer")
    bin_dir = str(Path(sys.executable).parent)
    env = os.environ | {
        "MLFLOW_TRACKING_URI": tracking,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONPATH": str(project / "src"),
    }
    started, urls = [], {}
    for kind, uri in uris.items():
        ours, theirs = free_port(), free_port()
        commands = {
            "ours": (
                [sys.executable, "-m", "credit_scorer.serve"],
                {"MODEL_URI": uri, "PORT": str(ours), "WORKERS": "1", "LOG_LEVEL": "WARNING"},
                f"http://127.0.0.1:{ours}",
                "/health/ready",
            ),
            "mlflow": (
                [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri, "-h", "127.0.0.1",
                 "-p", str(theirs), "-w", "1", "--env-manager", "local"],
                {},
                f"http://127.0.0.1:{theirs}",
                "/ping",
            ),
        }  # fmt: skip
        for who, (command, extra, url, ready) in commands.items():
            log = root / f"{kind}-{who}.log"
            process = subprocess.Popen(
                command,
                cwd=project,
                env=env | extra,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            started.append((process, url + ready, log))
            urls.setdefault(kind, {})[who] = url
    try:
        for process, ready_url, log in started:
            _wait(ready_url, process, log)
        yield urls
    finally:
        for process, _, _ in started:
            process.terminate()
        for process, _, _ in started:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def _post(url: str, body, content_type: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{url}/invocations", content=content, headers={"content-type": content_type}, timeout=30
    )


def _close(a, b) -> bool:
    """Equal JSON, floats within a relative 1e-9 (both sides run the same model code)."""
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and math.isclose(a, b, rel_tol=1e-9)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize(
    ("kind", "case", "body", "content_type"), CASES, ids=[f"{k}-{c}" for k, c, *_ in CASES]
)
def test_same_answer_as_mlflow(servers, kind, case, body, content_type) -> None:
    ours = _post(servers[kind]["ours"], body, content_type)
    theirs = _post(servers[kind]["mlflow"], body, content_type)
    assert ours.status_code // 100 == theirs.status_code // 100, (ours.text, theirs.text[:500])
    assert ours.status_code < 500
    if theirs.status_code == 200:
        assert _close(ours.json(), theirs.json()), (ours.text, theirs.text)
    else:
        assert ours.json()["error_code"] and ours.json()["message"], ours.text
        assert "Traceback" not in ours.text


@pytest.mark.parametrize(
    ("kind", "case", "body", "field"), DELIBERATE, ids=[c for _, c, *_ in DELIBERATE]
)
def test_deliberate_refusals(servers, kind, case, body, field) -> None:
    theirs = _post(servers[kind]["mlflow"], body, JSON)
    ours = _post(servers[kind]["ours"], body, JSON)
    assert theirs.status_code in (200, 400), theirs.text[:500]
    assert ours.status_code == 400 and field in ours.json()["message"], ours.text
    assert "Traceback" not in ours.text


def test_concurrent_one_row_calls_keep_their_answers(servers) -> None:
    """The cross-row probe: 32 concurrent 1-row calls, three times, against both servers."""
    rows = [{"id": str(i), "score": float(i)} for i in range(32)]
    differing = {}
    for who in ("ours", "mlflow"):
        url = servers["rank"][who]
        alone = [_post(url, _split([row]), JSON).json() for row in rows]
        with ThreadPoolExecutor(max_workers=32) as pool:
            together = [
                a.json()
                for _ in range(3)
                for a in pool.map(lambda r, url=url: _post(url, _split([r]), JSON), rows)
            ]
        differing[who] = sum(a != b for a, b in zip(alone * 3, together, strict=True))
    assert differing == {"ours": 0, "mlflow": 0}
