"""`make demo`: bake the demo model repo, train and register its model in a local MLflow store
(SQLite), serve it on 127.0.0.1, print a sample prediction and the URLs, and keep serving until
Ctrl-C (or stop after the sample when DEMO_EXIT_AFTER_SAMPLE=1).

Everything runs the way a user would run the baked repo: its own `make install`, `uv run train`
and `uv run serve`, on embedded defaults; nothing needs a cloud account.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parent.parent


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def wait_ready(url: str, server: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"demo: the service exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"demo: the service was not ready within {timeout_s:.0f} s")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main() -> int:
    out = Path(os.environ.get("DEMO_DIR", ROOT / "build" / "demo")).resolve()
    port = int(os.environ.get("DEMO_PORT", "8000"))
    rows = os.environ.get("DEMO_TRAIN_ROWS", "20000")
    started = time.monotonic()
    step(f"baking the demo repo into {out}")
    project = Path(
        cookiecutter(
            str(ROOT),
            no_input=True,
            output_dir=str(out),
            overwrite_if_exists=True,
            extra_context={"description": "Scores card transactions for fraud."},
        )
    )
    env = os.environ | {
        "UV_PYTHON_DOWNLOADS": "never",
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        # build/bin holds the uv the Makefile installed; MLflow looks for `uv` on PATH and
        # falls back to pip-based requirement inference without it.
        "PATH": f"{ROOT / 'build' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    uv = shutil.which("uv", path=env["PATH"]) or str(Path(sys.executable).with_name("uv"))
    env["UV"] = uv

    def run(*cmd: str) -> None:
        subprocess.run(cmd, cwd=project, env=env, check=True)

    step("installing its environment with uv (make install)")
    run("make", "--no-print-directory", "install")
    step(f"training and registering the demo fraud model ({rows} synthetic transactions)")
    run(uv, "run", "--no-sync", "train", "--rows", rows)
    step(f"starting the service on http://127.0.0.1:{port}")
    server = subprocess.Popen([uv, "run", "--no-sync", "serve"], cwd=project, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server, timeout_s=180)
        # The sample is the model's own input example, as its OpenAPI document shows it.
        sample = get_json(f"{url}/openapi.json")["components"]["schemas"]["Record"]["examples"][0]
        answer = post_json(f"{url}/predict", sample)
        print(f"\nPOST {url}/predict {json.dumps(sample)}\n-> {json.dumps(answer)}\n")
        print(f"API docs: {url}/docs\nMetrics:  {url}/metrics\nModel:    {url}/info")
        print(f"(ready in {time.monotonic() - started:.0f} s)", flush=True)
        if os.environ.get("DEMO_EXIT_AFTER_SAMPLE") == "1":
            return 0
        print("Serving until Ctrl-C.", flush=True)
        server.wait()
        return server.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
