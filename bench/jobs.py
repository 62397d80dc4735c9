"""make bench-jobs: rows per second of a scheduler job against the demo model, next to the same
rows sent by a simple client in 1,000-row /predict/batch calls one after another (the floor a
user would write themselves) and to `mlflow models predict` on the same file.

The demo model is baked, trained and served like `make bench` does (2 workers); billing and the
scheduler run as `modelship billing` and `modelship scheduler` on one SQLite file. While the job
runs, a probe calls the model through the gateway once every 0.2 s: the gateway keeps answering.
JOB_ROWS (default 100000) sets the size. Writes bench/results/jobs.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from modelship_platform.upstream import wait_until_up

from bench.run import MODES, payloads
from bench.servers import PROJECT, VENV_BIN, Server, bake, free_port, train

ROWS = int(os.environ.get("JOB_ROWS", "100000"))
CHUNK = 1000
OUT = ROOT / "bench" / "results" / "jobs.md"


def _input(ws, folder: Path) -> Path:
    sys.path.insert(0, str(ws.project / "src"))
    from importlib import import_module

    frame = import_module(f"{PROJECT.replace('-', '_')}.train").demo_frame(ROWS)
    path = folder / "rows.csv"
    frame.to_csv(path, index=False)
    return path


def sequential(url: str, csv: Path) -> float:
    """Seconds for the rows in 1,000-row text/csv calls, one after another."""
    header, *lines = csv.read_text().splitlines()
    start = time.perf_counter()
    with httpx.Client(timeout=120) as client:
        for i in range(0, len(lines), CHUNK):
            body = "\n".join([header, *lines[i : i + CHUNK]]) + "\n"
            client.post(f"{url}/predict/batch", content=body,
                        headers={"content-type": "text/csv"}).raise_for_status()  # fmt: skip
    return time.perf_counter() - start


def mlflow_predict(ws, csv: Path, folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(VENV_BIN / "mlflow"), "models", "predict", "-m", ws.model_uri, "-i", str(csv),
         "-t", "csv", "--env-manager", "local", "-o", str(folder / "mlflow.json")],
        env=ws.python_env(), check=True, timeout=3600, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def job(model_url: str, csv: Path, folder: Path) -> tuple[float, list[float], dict]:
    """Seconds from submission to the settled job, and the gateway's probe latencies (ms)."""
    admin_key, procs = uuid.uuid4().hex, []
    gw_port, sched_port = free_port(), free_port()
    env = {
        **os.environ,
        "MODELSHIP_DATABASE_URL": f"sqlite:///{folder / 'modelship.db'}",
        "MODELSHIP_MODELS": model_url,
        "MODELSHIP_ADMIN_KEY": admin_key,
        "MODELSHIP_RESULTS_URL": str(folder / "results"),
        "MODELSHIP_POLL_S": "0.05",
    }
    modelship = str(Path(sys.executable).parent / "modelship")
    try:
        procs.append(subprocess.Popen([modelship, "billing"], stderr=subprocess.DEVNULL,
                                      env=env | {"MODELSHIP_PORT": str(gw_port)}))  # fmt: skip
        gw = f"http://127.0.0.1:{gw_port}"
        wait_until_up(f"{gw}/health/live", procs[-1], timeout_s=60)
        procs.append(subprocess.Popen(
            [modelship, "scheduler"], stderr=subprocess.DEVNULL,
            env=env | {"MODELSHIP_PORT": str(sched_port), "MODELSHIP_BILLING_URL": gw}))  # fmt: skip
        jobs = f"http://127.0.0.1:{sched_port}"
        wait_until_up(f"{jobs}/health/live", procs[-1], timeout_s=60)
        admin = httpx.Client(base_url=gw, headers={"Authorization": f"Bearer {admin_key}"})
        admin.post("/v1/accounts", json={"name": "bench", "role": "consumer"}).raise_for_status()
        key = admin.post("/v1/accounts/bench/keys").json()["key"]
        admin.post("/v1/accounts/bench/topups", json={"amount": "100000.00"},
                   headers={"Idempotency-Key": "bench"}).raise_for_status()  # fmt: skip
        auth = {"Authorization": f"Bearer {key}"}
        probes: list[float] = []
        done = threading.Event()
        one = csv.read_text().splitlines()[:2]

        def probe() -> None:
            with httpx.Client(timeout=30, headers=auth | {"content-type": "text/csv"}) as c:
                while not done.is_set():
                    t0 = time.perf_counter()
                    c.post(f"{gw}/v1/models/{PROJECT}/predict/batch", content="\n".join(one))
                    probes.append((time.perf_counter() - t0) * 1000)
                    time.sleep(0.2)

        prober = threading.Thread(target=probe, daemon=True)
        start = time.perf_counter()
        with csv.open("rb") as f:
            sent = httpx.post(f"{jobs}/v1/jobs", headers=auth, data={"model": PROJECT},
                              files={"file": ("rows.csv", f, "text/csv")}, timeout=600)  # fmt: skip
        sent.raise_for_status()
        submitted = time.perf_counter() - start
        prober.start()
        while True:
            found = httpx.get(f"{jobs}/v1/jobs/{sent.json()['id']}", headers=auth,
                              params={}, timeout=60).json()  # fmt: skip
            if found["settled_at"]:
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        done.set()
        prober.join(10)
        return seconds, probes, found | {"submit_s": submitted}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="modelship-bench-jobs-"))
    print(f"bench-jobs: {ROWS} rows; baking and training the demo model", flush=True)
    ws = bake(ROOT / "build" / "bench")
    train(ws, *MODES["quick"]["train"])
    ready = payloads(ws, (1,))["invocations-1"].read_bytes()
    csv = _input(ws, folder)
    with Server("ours", ws, 2, ready) as model:
        print("  sequential client, 1,000-row calls", flush=True)
        seq_s = sequential(model.url, csv)
        print("  a scheduler job", flush=True)
        job_s, probes, found = job(model.url, csv, folder)
    print("  mlflow models predict", flush=True)
    mlflow_s = mlflow_predict(ws, csv, folder)
    write(seq_s, job_s, mlflow_s, probes, found)


def write(seq_s, job_s, mlflow_s, probes, found) -> None:
    rate = {name: ROWS / s for name, s in (("seq", seq_s), ("job", job_s), ("mlflow", mlflow_s))}
    p50 = statistics.median(probes) if probes else float("nan")
    worst = max(probes, default=float("nan"))
    met = "met" if rate["job"] >= 0.9 * rate["seq"] else "NOT met"
    setting = (
        f"{ROWS} rows of the demo model (`make bench-jobs`, JOB_ROWS={ROWS}) on "
        f"{platform.node()} ({os.cpu_count()} CPUs), the model served with 2 workers; billing "
        "and the scheduler on one SQLite file. The job's time runs from the upload to the "
        "settled charge (upload, validation, hold, scoring, result, settle)."
    )
    rows = [
        (f"sequential client, {CHUNK}-row /predict/batch", seq_s, rate["seq"]),
        ("scheduler job", job_s, rate["job"]),
        ("mlflow models predict", mlflow_s, rate["mlflow"]),
    ]
    table = [f"| {how} | {s:.1f} | {r:.0f} | {r / rate['seq']:.2f} |" for how, s, r in rows]
    job_line = (
        f"The job: {found['status']}, {found['rows_done']} rows, charge {found['charge']}. "
        f"Of its {job_s:.1f} s, {found['submit_s']:.1f} s were the submission (upload, "
        "validation against the signature, the hold, storing the input) before the 202. "
        f"While it ran, {len(probes)} gateway calls answered, p50 {p50:.1f} ms "
        f"(max {worst:.1f} ms)."
    )
    lines = [
        "# bench-jobs: a scheduler job vs a sequential client vs `mlflow models predict`",
        "",
        setting,
        "",
        "| how | seconds | rows/s | vs sequential |",
        "| --- | ---: | ---: | ---: |",
        *table,
        "",
        job_line,
        "",
        f"Floor of issue 12, the job at >= 0.9x the sequential client: {met}.",
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
