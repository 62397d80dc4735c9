"""A baked repo is a real project: its own `make lint` and `make test` pass, it serves over real
HTTP, and schemathesis finds no 5xx in its OpenAPI. (`cookiecutter --no-input <template>
project=credit-scorer`, as the README promises.)"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from baking import bake

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    done = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    uv_dir = str(Path(sys.executable).parent)  # the dev environment ships uv
    return os.environ | {"PATH": f"{uv_dir}:{os.environ['PATH']}", "MODELSHIP_SKIP_LOCK": "0"}


@pytest.fixture(scope="module")
def credit_scorer(tmp_path_factory, env) -> Path:
    """`credit-scorer` baked with uv.lock written, and `make install` run in it."""
    os.environ["MODELSHIP_SKIP_LOCK"] = "0"
    try:
        project = bake(tmp_path_factory.mktemp("baked"), project="credit-scorer")
    finally:
        os.environ["MODELSHIP_SKIP_LOCK"] = "1"
    assert (project / "uv.lock").is_file()
    run(["make", "install"], project, env)
    return project


def test_own_lint_passes(credit_scorer, env) -> None:
    run(["make", "lint"], credit_scorer, env)


def test_own_test_suite_passes(credit_scorer, env) -> None:
    output = run(["make", "test"], credit_scorer, env, timeout=1200)
    assert " passed" in output and " failed" not in output, output[-2000:]


@pytest.fixture(scope="module")
def served(credit_scorer, env, tmp_path_factory) -> Iterator[str]:
    """The baked service, trained small, on a free loopback port: its base URL."""
    store = tmp_path_factory.mktemp("store")
    serve_env = env | {
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "PORT": str(free_port()),
        "WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(store / "prometheus"),
    }
    run(
        ["uv", "run", "--no-sync", "train", "--rows", "1500", "--trees", "10"],
        credit_scorer,
        serve_env,
    )
    server = subprocess.Popen(
        ["uv", "run", "--no-sync", "serve"],
        cwd=credit_scorer,
        env=serve_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{serve_env['PORT']}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "the service exited during start-up"
            try:
                with urllib.request.urlopen(f"{url}/health/ready", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the service was not ready in 120 s"
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_serves_predictions_over_http(served) -> None:
    record = {"amount": 50.0, "merchant_category": "fuel", "hour": 14, "day_of_week": 1,
              "user_age": 40, "account_balance": 900.0}  # fmt: skip
    request = urllib.request.Request(
        f"{served}/predict",
        data=json.dumps(record).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert body["model"]["name"] == "credit-scorer"
    assert set(body["prediction"]) == {"is_fraud", "fraud_probability", "confidence"}


def test_schemathesis_finds_no_server_error(served, tmp_path) -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{served}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "40",
            "--seed",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-time",
            "120",
            "--request-timeout",
            "30",
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:]
