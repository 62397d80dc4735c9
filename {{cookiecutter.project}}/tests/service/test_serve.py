"""The real server (`python -m <package>.serve`) in a subprocess on 127.0.0.1 with 2 workers."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from {{ cookiecutter.package }} import serve

from tests.service.models import RECORD

PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def start(model_uri: str, tracking_uri: str, tmp_path: Path, **env: str) -> tuple:
    port = free_port()
    variables = {k: v for k, v in os.environ.items() if k != serve.MULTIPROC_ENV}
    variables.update(
        MODEL_URI=model_uri, MLFLOW_TRACKING_URI=tracking_uri, HOST="127.0.0.1", PORT=str(port),
        WORKERS="2", GRACEFUL_TIMEOUT_S="15", LOG_LEVEL="INFO", **env,
    )  # fmt: skip
    with (tmp_path / f"serve-{port}.log").open("wb") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", serve.__name__], cwd=PROJECT, env=variables, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    workers = int(variables["WORKERS"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / f"serve-{port}.log").read_text()[-3000:]
        # The first worker answers while gunicorn may still be forking the next (it waits up
        # to 0.1 s between forks): ready means every worker is there.
        try:
            ready = httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            ready = False
        if ready and (workers == 1 or len(children(process.pid)) == workers):
            return process, url
        time.sleep(0.1)
    process.kill()
    pytest.fail("the server did not become ready within 120 s")


@pytest.fixture
def server(classifier_uri: str, tracking_uri: str, tmp_path: Path) -> Iterator[tuple]:
    process, url = start(classifier_uri, tracking_uri, tmp_path)
    yield process, url
    if process.poll() is None:
        process.terminate()
        process.wait(30)


def predictions_counted(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("modelship_predictions_total{") and 'route="/predict"' in line
    )


def test_workers_share_one_metrics_view(server) -> None:
    process, url = server
    assert len(children(process.pid)) == 2
    # A new connection per call, so the kernel spreads the calls over both workers.
    for _ in range(30):
        assert httpx.post(f"{url}/predict", json=RECORD, timeout=10).status_code == 200
    # Whichever worker answers the scrape, it reports the calls of both.
    assert [predictions_counted(url) for _ in range(6)] == [30.0] * 6


def test_every_log_line_is_json_with_the_request_id(server, tmp_path: Path) -> None:
    process, url = server
    httpx.post(f"{url}/predict", json=RECORD, headers={"x-request-id": "json-1"}, timeout=10)
    process.terminate()
    process.wait(30)
    log = tmp_path / f"serve-{url.rsplit(':', 1)[1]}.log"
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert {"gunicorn.error", "access"} <= {line["logger"] for line in lines}
    assert any(
        line["request_id"] == "json-1" and line["message"] == "POST /predict 200" for line in lines
    )
    assert {line["level"] for line in lines} <= {"INFO"}  # a clean start and stop: no warnings
    assert not [line for line in lines if "Error" in line["message"]]  # e.g. closing a socket


def test_bad_model_uri_exits_non_zero_naming_the_uri(tracking_uri: str) -> None:
    env = {**os.environ, "MODEL_URI": "models:/no-such-model@nowhere",
           "MLFLOW_TRACKING_URI": tracking_uri, "PORT": str(free_port())}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", serve.__name__], cwd=PROJECT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "models:/no-such-model@nowhere" in done.stderr


def test_sigterm_under_load_loses_no_request(server, tmp_path: Path) -> None:
    """Every request the app received is answered; the others were refused, never cut.

    Each call carries its own X-Request-ID, which the app logs: a call that failed at the client
    must be one the app never saw (its connection was refused or reset before it was read).
    """
    process, url = server
    answered: set[str] = set()
    unanswered: set[str] = set()
    bad_status: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            request_id = uuid.uuid4().hex
            headers = {"X-Request-ID": request_id, "Connection": "close"}
            try:
                response = httpx.post(f"{url}/predict", json=RECORD, headers=headers, timeout=30)
            except httpx.TransportError:
                unanswered.add(request_id)
                time.sleep(0.01)
                continue
            if response.status_code == 200:
                answered.add(request_id)
            else:
                bad_status.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    answered_before = len(answered)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    stop.set()
    for thread in threads:
        thread.join(30)
    seen = {}
    for log in tmp_path.glob("serve-*.log"):
        for line in log.read_text().splitlines():
            if line.startswith("{") and '"request_id"' in line:
                record = json.loads(line)
                seen[record["request_id"]] = record.get("status")
    assert answered_before > 0 and unanswered, "the load did not span the shutdown"
    assert bad_status == []
    assert unanswered.isdisjoint(seen), "a request the app had received was not answered"
    assert answered <= seen.keys()
