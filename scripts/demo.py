"""`make demo`: bake the demo model repo, train and register its model in a local MLflow store
(SQLite), serve it on 127.0.0.1, print a sample prediction and the URLs (DEMO_EXIT_AFTER_SAMPLE=1
stops here); then the platform (scripts/demo_platform.py): a second repo, a regressor, billing
and the catalog, demo accounts and one billed call; and keep serving until Ctrl-C.

Everything runs the way a user would run the baked repo: its own `make install`, `uv run train`
and `uv run serve`, on embedded defaults; nothing needs a cloud account. Quiet by default: one
line per step, the request and the answer; the tools' own output goes to a log file beside the
baked repo (VERBOSE=1 prints it all instead).
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

ROOT = Path(__file__).resolve().parent.parent
VERBOSE = os.environ.get("VERBOSE", "") not in ("", "0")


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def wait_ready(
    url: str, server: subprocess.Popen, timeout_s: float = 180, path: str = "/health/ready"
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"demo: {url} exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=2) as response:
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


def run_logged(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> str:
    """Run `cmd`; its output goes to `log` (and the terminal with VERBOSE=1). On failure the
    end of the log is printed and the demo stops. Returns the output."""
    if VERBOSE:
        subprocess.run(cmd, cwd=cwd, env=env, check=True)
        return ""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    with log.open("a", encoding="utf-8") as file:
        file.write(f"$ {' '.join(cmd)}\n{output}\n")
    if done.returncode != 0:
        print(output[-3000:], file=sys.stderr)
        raise SystemExit(f"demo: {' '.join(cmd)} failed (exit {done.returncode}); log: {log}")
    return output


def main() -> int:
    out = Path(os.environ.get("DEMO_DIR", ROOT / "build" / "demo")).resolve()
    port = int(os.environ.get("DEMO_PORT", "8000"))
    rows = os.environ.get("DEMO_TRAIN_ROWS", "20000")
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "demo.log"
    log.write_text("", encoding="utf-8")
    step(f"baking the demo repo into {out}")
    bake = [sys.executable, "-m", "cookiecutter", "--no-input", "--overwrite-if-exists"]
    demo = ["description=Scores card transactions for fraud."]
    run_logged([*bake, "--output-dir", str(out), str(ROOT), *demo], ROOT, dict(os.environ), log)
    project = out / "fraud-detector"
    env = os.environ | {
        "UV_PYTHON_DOWNLOADS": "never",
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "MLFLOW_REGISTRY_URI": f"sqlite:///{project / 'mlflow.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        # build/bin holds the uv the Makefile installed; MLflow looks for `uv` on PATH and
        # falls back to pip-based requirement inference without it.
        "PATH": f"{ROOT / 'build' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    uv = shutil.which("uv", path=env["PATH"]) or str(Path(sys.executable).with_name("uv"))
    env["UV"] = uv

    def run(*cmd: str) -> str:
        return run_logged(list(cmd), project, env, log)

    def start(cwd: Path, server_env: dict, cmd: list[str], log_name: str = "serve.log"):
        output = None if VERBOSE else (cwd / log_name).open("wb")
        stderr = None if VERBOSE else subprocess.STDOUT
        return subprocess.Popen(cmd, cwd=cwd, env=server_env, stdout=output, stderr=stderr)

    step("installing its environment with uv (make install)")
    run("make", "--no-print-directory", "install")
    step(f"training and registering the demo fraud model ({rows} synthetic transactions)")
    trained = run(uv, "run", "--no-sync", "train", "--rows", rows)
    for line in trained.splitlines():
        if line.startswith(("run ", "metrics:")):
            print(f"    {line}", flush=True)
    step(f"starting the service on http://127.0.0.1:{port}")
    server_log = project / "serve.log"
    server = start(project, env, [uv, "run", "--no-sync", "serve"])
    servers = [server]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server, timeout_s=180)
        # The sample is the model's own input example, as its OpenAPI document shows it.
        sample = get_json(f"{url}/openapi.json")["components"]["schemas"]["Record"]["examples"][0]
        answer = post_json(f"{url}/predict", sample)
        print(f"\nPOST {url}/predict {json.dumps(sample)}\n-> {json.dumps(answer)}\n")
        print(f"API docs: {url}/docs\nMetrics:  {url}/metrics\nModel:    {url}/info")
        print(f"(ready in {time.monotonic() - started:.0f} s; tool output: {log})", flush=True)
        if os.environ.get("DEMO_EXIT_AFTER_SAMPLE") == "1":
            return 0
        from demo_platform import run_platform

        servers += run_platform({
            "out": out, "port": port, "step": step, "env": env, "fraud_url": url,
            "bake": lambda answers: run_logged(
                [*bake, "--output-dir", str(out), str(ROOT), *answers], ROOT, dict(os.environ), log
            ),
            "run": lambda cwd, run_env, *cmd: run_logged(list(cmd), cwd, run_env, log),
            "serve": start,
            "wait": lambda at, proc, path: wait_ready(at, proc, path=path),
        })  # fmt: skip
        where = "" if VERBOSE else f" (logs: {server_log}, {out}/*.log)"
        print(f"Serving until Ctrl-C{where}.", flush=True)
        server.wait()
        return server.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        for running in reversed(servers):
            if running.poll() is None:
                running.send_signal(signal.SIGTERM)
                try:
                    running.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    running.kill()


if __name__ == "__main__":
    sys.exit(main())
