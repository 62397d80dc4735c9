"""A worker process killed with SIGKILL in the middle of a job: the reaper re-queues the job
when its lease runs out, the next worker resumes at the first unfinished chunk, and the result
has every row exactly once, charged once."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.csv

from modelship_platform import SCRIPT
from modelship_platform.conftest import ADMIN
from modelship_platform.scheduler_parts import (
    SCORER,
    csv_rows,
    customer,
    platform,
    scoring_app,
    wait_for,
)
from modelship_platform.upstream import serve_in_thread

ROWS, CHUNK = 300, 10


def _worker(env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(SCRIPT), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _env(database_url: str, scorer: str, billing_url: str, results: Path, lease_s: str) -> dict:
    return {
        **os.environ,
        "MODELSHIP_DATABASE_URL": database_url,
        "MODELSHIP_MODELS": scorer,
        "MODELSHIP_ADMIN_KEY": ADMIN,
        "MODELSHIP_BILLING_URL": billing_url,
        "MODELSHIP_RESULTS_URL": str(results),
        "MODELSHIP_LEASE_S": lease_s,
        "MODELSHIP_POLL_S": "0.1",
        "MODELSHIP_JOB_CHUNK_CONCURRENCY": "2",
    }


def _stop_midway(jobs, job_id: str, worker: subprocess.Popen, rows: int, stop) -> int:
    """Once ``rows`` rows are done, send ``stop`` to the worker; its exit code."""
    try:
        deadline = time.monotonic() + 60
        while jobs.get(f"/v1/jobs/{job_id}").json()["rows_done"] < rows:
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.05)
        worker.send_signal(stop)
        return worker.wait(15)
    finally:
        worker.kill()


def test_sigkill_mid_job_then_resume(database_url, tmp_path):
    seen: list[int] = []
    card = {**SCORER, "metadata": {**SCORER["metadata"], "name": "crash-scorer"}}
    results = tmp_path / "results"
    with (
        serve_in_thread(scoring_app(card, max_rows=CHUNK, delay_s=0.1, seen=seen)) as scorer,
        platform(database_url, [scorer], results, with_worker=False) as (url, admin, billing_url),
    ):
        billing, jobs = customer(billing_url, admin, url)
        env = _env(database_url, scorer, billing_url, results, "3")
        job = jobs.post("/v1/jobs", data={"model": "crash-scorer"},
                        files={"file": ("rows.csv", csv_rows(ROWS))}).json()  # fmt: skip
        log = tmp_path / "worker.log"
        _stop_midway(jobs, job["id"], _worker(env, log), 80, signal.SIGKILL)
        killed_at = jobs.get(f"/v1/jobs/{job['id']}").json()
        assert killed_at["status"] == "running" and 80 <= killed_at["rows_done"] < ROWS
        second = _worker(env, log)
        try:
            done = wait_for(jobs, job["id"], timeout_s=90)
        finally:
            second.terminate()
            second.wait(10)
        assert (done["status"], done["rows_done"]) == ("succeeded", ROWS)
        assert done["charge"] == "0.031000"  # 0.001 + 300 x 0.0001, once
        assert billing.get("/v1/me").json() == {
            "name": "alice", "role": "consumer", "balance": "0.969000", "held": "0.000000"
        }  # fmt: skip
        assert admin.get("/v1/admin/ledger").json()["balanced"] is True
        table = pyarrow.csv.read_csv(io.BytesIO(jobs.get(f"/v1/jobs/{job['id']}/result").content))
        assert table["n"].to_pylist() == list(range(ROWS))
        assert table["prediction"].to_pylist() == [i * 0.5 * 2 + i for i in range(ROWS)]
    # Resumed, not restarted: only the chunks in flight at the kill were scored again.
    assert set(seen) == set(range(ROWS)) and len(seen) - ROWS <= 2 * CHUNK
    text = log.read_text()
    assert "lease expired" in text and "resumes at chunk" in text
    assert ADMIN not in text


def test_sigterm_hands_the_job_back_at_once(tmp_path):
    """A worker stopped with SIGTERM (a rolling update) queues its job again without waiting
    for its lease (30 s here) to run out; the next worker resumes it."""
    card = {**SCORER, "metadata": {**SCORER["metadata"], "name": "crash-scorer"}}
    results, database_url = tmp_path / "results", f"sqlite:///{tmp_path / 'm.db'}"
    with (
        serve_in_thread(scoring_app(card, max_rows=CHUNK, delay_s=0.1)) as scorer,
        platform(database_url, [scorer], results, with_worker=False) as (url, admin, billing_url),
    ):
        _billing, jobs = customer(billing_url, admin, url)
        env = _env(database_url, scorer, billing_url, results, "30")
        job = jobs.post("/v1/jobs", data={"model": "crash-scorer"},
                        files={"file": ("rows.csv", csv_rows(ROWS))}).json()  # fmt: skip
        log = tmp_path / "worker.log"
        assert _stop_midway(jobs, job["id"], _worker(env, log), 40, signal.SIGTERM) == 0
        handed = jobs.get(f"/v1/jobs/{job['id']}").json()
        assert handed["status"] == "queued" and 40 <= handed["rows_done"] < ROWS
        second = _worker(env, log)
        try:
            done = wait_for(jobs, job["id"], timeout_s=60)
        finally:
            second.terminate()
            second.wait(10)
        assert (done["status"], done["rows_done"], done["charge"]) == (
            "succeeded",
            ROWS,
            "0.031000",
        )
        table = pyarrow.csv.read_csv(io.BytesIO(jobs.get(f"/v1/jobs/{job['id']}/result").content))
        assert table["n"].to_pylist() == list(range(ROWS))
    assert "queued again" in log.read_text()
