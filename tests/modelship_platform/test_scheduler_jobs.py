"""The jobs API over real HTTP: billing and the scheduler on loopback, one database (SQLite and
PostgreSQL), a scoring model service with a signature."""

from __future__ import annotations

import io

import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from modelship_platform.scheduler_parts import (
    SCORER,
    csv_rows,
    customer,
    platform,
    scoring_app,
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
