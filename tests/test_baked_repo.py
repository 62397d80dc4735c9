"""A baked repo is a real project: its own `make lint` and `make test` pass, it serves over real
HTTP, and schemathesis finds no 5xx in its OpenAPI. (`cookiecutter --no-input <template>
project=credit-scorer`, as the README promises.)"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from baking import bake, import_hook_module

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


@contextmanager
def running_service(project: Path, env: dict[str, str]) -> Iterator[str]:
    """`uv run serve` in `project` with `env`, on a free loopback port, until ready: its URL."""
    env = env | {"PORT": str(free_port()), "WORKERS": "1"}
    server = subprocess.Popen(
        ["uv", "run", "--no-sync", "serve"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{env['PORT']}"
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


def post_json(url: str, body: object) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def served(credit_scorer, env, tmp_path_factory) -> Iterator[str]:
    """The baked service, trained small, on a free loopback port: its base URL."""
    store = tmp_path_factory.mktemp("store")
    serve_env = env | {
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(store / "prometheus"),
    }
    run(
        ["uv", "run", "--no-sync", "train", "--rows", "1500", "--trees", "10"],
        credit_scorer,
        serve_env,
    )
    with running_service(credit_scorer, serve_env) as url:
        yield url


def test_serves_predictions_over_http(served) -> None:
    record = {"amount": 50.0, "merchant_category": "fuel", "hour": 14, "day_of_week": 1,
              "user_age": 40, "account_balance": 900.0}  # fmt: skip
    body = post_json(f"{served}/predict", record)
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


def readme_block(readme: str, heading: str, language: str) -> str:
    """The first fenced block of `language` under the README section `heading`."""
    section = readme.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)[1]


def test_the_examples_own_tests_pass(credit_scorer, env) -> None:
    output = run(["uv", "run", "--no-sync", "pytest", "tests/model"], credit_scorer, env)
    assert " passed" in output and " failed" not in output, output[-2000:]


def test_the_readme_recipe_serves_your_own_model(credit_scorer, env, tmp_path) -> None:
    """The "Serve your own model" script, verbatim, from the repo root; then `serve` with the
    defaults (./mlflow.db, the repo's model name and alias) answers the new model's request."""
    readme = (credit_scorer / "README.md").read_text(encoding="utf-8")
    (credit_scorer / "own_model.py").write_text(
        readme_block(readme, "Serve your own model", "python")
    )
    recipe_env = {k: v for k, v in env.items() if not k.startswith("MLFLOW_")}
    run(["uv", "run", "--no-sync", "python", "own_model.py"], credit_scorer, recipe_env)
    curl = re.search(r"-d '(\{\"a\".*?\})'", readme)[1]  # the README's request for it
    serve_env = recipe_env | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")}
    with running_service(credit_scorer, serve_env) as url:
        answer = post_json(f"{url}/predict", json.loads(curl))
        with urllib.request.urlopen(f"{url}/info", timeout=30) as response:
            info = json.load(response)
    assert answer["prediction"] == pytest.approx(2 * 1 + 2 - 3)  # the recipe's y = 2a + b - c
    assert answer["model"] == {"name": "credit-scorer", "version": "1"}
    assert set(info["flavors"]) == {"python_function", "sklearn"} and info["card_matches"] is True


def test_service_tests_pass_without_the_example(credit_scorer, env) -> None:
    """Delete the example model's files and tests: the service and its tests do not need them."""
    post_gen = import_hook_module("post_gen_project")
    answers = {"package": "credit_scorer", "example": "fraud"}
    for path in post_gen.example_files(answers):
        (credit_scorer / path).unlink()
    output = run(["make", "test"], credit_scorer, env, timeout=1200)
    passed = re.search(r"(\d+) passed", output)
    assert passed and int(passed[1]) >= 100 and " failed" not in output, output[-2000:]
