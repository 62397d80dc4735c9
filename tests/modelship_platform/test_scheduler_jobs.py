"""The jobs API over real HTTP: billing and the scheduler on loopback, one database (SQLite and
PostgreSQL), a scoring model service with a signature."""

from __future__ import annotations

import hashlib
import hmac
import io
import json

import pyarrow.csv
import pyarrow.parquet as pq
import pytest
from modelship.scheduler.notify import SIGNATURE
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from modelship_platform.scheduler_parts import (
    SCORER,
    csv_rows,
    customer,
    platform,
    scoring_app,
    until,
    wait_for,
)
from modelship_platform.upstream import serve_in_thread


@pytest.fixture(scope="module")
def scorer():
    with serve_in_thread(scoring_app(SCORER, max_rows=100)) as url:
        yield url


@pytest.fixture(scope="module")
def slow_scorer():
    card = {**SCORER, "metadata": {**SCORER["metadata"], "name": "slow-scorer"}}
    with serve_in_thread(scoring_app(card, max_rows=10, delay_s=0.2)) as url:
        yield url


def test_a_job_scores_every_row_in_order_and_charges_them(database_url, scorer, tmp_path):
    with platform(database_url, [scorer], tmp_path / "results") as (url, admin, billing_url):
        billing, jobs = customer(billing_url, admin, url)
        sent = jobs.post("/v1/jobs", data={"model": "scorer"},
                         files={"file": ("rows.csv", csv_rows(450), "text/csv")})  # fmt: skip
        assert sent.status_code == 202, sent.text
        job = sent.json()
        assert (job["status"], job["rows"]) == ("queued", 450)
        done = wait_for(jobs, job["id"])
        assert (done["status"], done["rows_done"], done["error"]) == ("succeeded", 450, None)
        assert done["charge"] == "0.046000"  # 0.001 + 450 x 0.0001
        result = jobs.get(f"/v1/jobs/{job['id']}/result")
        assert result.status_code == 200 and result.headers["content-type"].startswith("text/csv")
        table = pyarrow.csv.read_csv(io.BytesIO(result.content))
        assert table["n"].to_pylist() == list(range(450))
        assert table["prediction"].to_pylist() == [i * 0.5 * 2 + i for i in range(450)]
        assert table["note"].to_pylist()[7] == "row 7"
        parquet = jobs.get(
            f"/v1/jobs/{job['id']}/result", headers={"Accept": "application/vnd.apache.parquet"}
        )
        assert pq.read_table(io.BytesIO(parquet.content)).equals(table) or (
            pq.read_table(io.BytesIO(parquet.content))["prediction"].to_pylist()
            == table["prediction"].to_pylist()
        )
        assert billing.get("/v1/me").json()["balance"] == "0.954000"
        assert billing.get("/v1/me").json()["held"] == "0.000000"
        assert admin.get("/v1/admin/ledger").json()["balanced"] is True
        listed = jobs.get("/v1/jobs", params={"limit": 1}).json()
        assert listed["total"] == 1 and [j["id"] for j in listed["items"]] == [job["id"]]


def _balance(billing) -> tuple[str, str]:
    me = billing.get("/v1/me").json()
    return me["balance"], me["held"]


def test_idempotency_key_wait_and_a_signed_webhook(database_url, scorer, tmp_path):
    calls: list = []

    async def hook(request):
        calls.append((await request.body(), request.headers.get(SIGNATURE)))
        return JSONResponse({}, status_code=503 if len(calls) == 1 else 200)  # one retry

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with (
        serve_in_thread(receiver) as hook_url,
        platform(database_url, [scorer], tmp_path / "r", webhook_secret="whsec", webhook_backoff_s=0.1,
                 webhook_private_ok=True)
        as (url, admin, billing_url),
    ):  # fmt: skip
        billing, jobs = customer(billing_url, admin, url)
        form = {"model": "scorer", "webhook_url": f"{hook_url}/hook"}
        files = {"file": ("rows.jsonl", b'{"x": 1, "n": 2}\n{"x": 3.5, "n": 4}\n')}
        key = {"Idempotency-Key": "job-1", "Prefer": "wait=20"}
        first = jobs.post("/v1/jobs", data=form, files=files, headers=key)
        assert first.status_code == 200, first.text  # finished within the wait
        assert first.json()["status"] == "succeeded" and first.json()["charge"] == "0.001200"
        again = jobs.post("/v1/jobs", data=form, files=files, headers=key)
        assert again.json()["id"] == first.json()["id"]
        other = jobs.post("/v1/jobs", data=form, files={"file": ("rows.jsonl", b'{"x": 9, "n": 9}\n')},
                          headers=key)  # fmt: skip
        assert other.status_code == 409 and "idempotency-key" in other.json()["detail"]
        assert jobs.get("/v1/jobs").json()["total"] == 1
        assert _balance(billing) == ("0.998800", "0.000000")
        bad_wait = jobs.post("/v1/jobs", data=form, files=files, headers={"Prefer": "wait=61"})
        assert bad_wait.status_code == 400 and "prefer" in bad_wait.json()["detail"]
        # sent after the settlement, retried once
        until(lambda: len(calls) >= 2, 30, "no second webhook call within 30 s")
        assert len(calls) == 2 and calls[0] == calls[1]
        body, signature = calls[1]
        assert signature == "sha256=" + hmac.new(b"whsec", body, hashlib.sha256).hexdigest()
        assert json.loads(body)["id"] == first.json()["id"]


def test_cancel_charges_only_the_rows_delivered(database_url, slow_scorer, tmp_path):
    with platform(database_url, [slow_scorer], tmp_path / "r") as (url, admin, billing_url):
        billing, jobs = customer(billing_url, admin, url)
        job = jobs.post("/v1/jobs", data={"model": "slow-scorer"},
                        files={"file": ("rows.csv", csv_rows(400))}).json()  # fmt: skip
        status = f"/v1/jobs/{job['id']}"
        until(lambda: jobs.get(status).json()["rows_done"] >= 20, 30, "no 20 rows within 30 s")
        assert jobs.post(f"/v1/jobs/{job['id']}/cancel").json()["status"] == "cancelled"
        done = wait_for(jobs, job["id"])
        assert done["status"] == "cancelled" and 20 <= done["rows_done"] < 400
        expected = 1000 + 100 * done["rows_done"]  # micro-units: per call + per row
        assert done["charge"] == f"0.{expected:06d}"
        assert _balance(billing) == (f"0.{1_000_000 - expected:06d}", "0.000000")
        table = pyarrow.csv.read_csv(io.BytesIO(jobs.get(f"/v1/jobs/{job['id']}/result").content))
        assert table["n"].to_pylist() == list(range(done["rows_done"]))
        again = jobs.post(f"/v1/jobs/{job['id']}/cancel")
        assert again.status_code == 409
        assert admin.get("/v1/admin/ledger").json()["balanced"] is True


def test_a_model_failing_midway_fails_the_job_and_charges_the_delivered(database_url, tmp_path):
    """Chunk by chunk: once a chunk has failed, no later chunk is sent, stored or charged (one
    used to start as the failed chunk let go of its turn, and was charged when it finished before
    the job was ended)."""
    seen: list[int] = []  # the rows the model scored
    with (
        serve_in_thread(scoring_app(SCORER, max_rows=100, seen=seen)) as scorer,
        platform(database_url, [scorer], tmp_path / "r", job_chunk_concurrency=1) as (
            url, admin, billing_url,
        ),
    ):  # fmt: skip
        billing, jobs = customer(billing_url, admin, url)
        job = jobs.post("/v1/jobs", data={"model": "scorer"},
                        files={"file": ("rows.csv", csv_rows(450, fail_at=250))}).json()  # fmt: skip
        done = wait_for(jobs, job["id"])
        assert done["status"] == "failed"
        assert "chunk 2 (rows 201-300)" in done["error"] and "model exploded" in done["error"]
        assert done["rows_done"] == 200 and done["charge"] == "0.021000"
        assert _balance(billing) == ("0.979000", "0.000000")
        table = pyarrow.csv.read_csv(io.BytesIO(jobs.get(f"/v1/jobs/{job['id']}/result").content))
        assert table.num_rows == 200
    assert sorted(seen) == list(range(200))


def test_short_balance_is_402_and_private_models_are_404(database_url, scorer, tmp_path):
    private = {**SCORER, "metadata": {**SCORER["metadata"], "name": "hidden"}}
    private["metadata"]["annotations"] = {
        **SCORER["metadata"]["annotations"], "modelship.io/visibility": "private"
    }  # fmt: skip
    with (
        serve_in_thread(scoring_app(private)) as hidden,
        platform(database_url, [scorer, hidden], tmp_path / "r") as (url, admin, billing_url),
    ):
        billing, jobs = customer(billing_url, admin, url, amount="0.01")
        short = jobs.post("/v1/jobs", data={"model": "scorer"},
                          files={"file": ("rows.csv", csv_rows(450))})  # fmt: skip
        assert short.status_code == 402, short.text
        assert short.json()["price"] == "0.046000" and short.json()["available"] == "0.010000"
        unseen = jobs.post("/v1/jobs", data={"model": "hidden"},
                           files={"file": ("rows.csv", csv_rows(2))})  # fmt: skip
        assert unseen.status_code == 404, unseen.text
        stranger = jobs.get("/v1/jobs/0123456789abcdef")
        assert stranger.status_code == 404 and "no job" in stranger.json()["detail"]
        assert jobs.get("/v1/jobs").json()["total"] == 0
        assert _balance(billing) == ("0.010000", "0.000000")
        assert jobs.get("/v1/jobs", headers={"Authorization": "Bearer nope"}).status_code == 401
