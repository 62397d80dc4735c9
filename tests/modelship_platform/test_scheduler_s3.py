"""Results in S3 (moto's S3 server on loopback) with the endpoint and credentials from the
settings; an input read from S3; a missing object a 404; results deleted after retention."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from modelship_platform.postgres import free_port
from modelship_platform.scheduler_parts import (
    SCORER,
    csv_rows,
    customer,
    platform,
    scoring_app,
    until,
    wait_for,
)
from modelship_platform.upstream import serve_in_thread, wait_until_up

KEYS = {"aws_access_key_id": "modelship", "aws_secret_access_key": "modelship-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/moto-api/", server, timeout_s=30)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_results_in_s3_kept_for_the_retention_then_deleted(s3_endpoint, tmp_path):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS)
    for bucket in ("inputs", "results"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="inputs", Key="day/rows.csv", Body=csv_rows(120))
    settings = {
        "s3_endpoint_url": s3_endpoint,
        "s3_access_key_id": KEYS["aws_access_key_id"],
        "s3_secret_access_key": KEYS["aws_secret_access_key"],
        "results_retention_s": 2,
    }
    database_url = f"sqlite:///{tmp_path / 'm.db'}"
    with (
        serve_in_thread(scoring_app(SCORER, max_rows=50)) as scorer,
        platform(database_url, [scorer], "s3://results/modelship", **settings) as (
            url,
            admin,
            billing_url,
        ),
    ):
        billing, jobs = customer(billing_url, admin, url)
        missing = jobs.post("/v1/jobs", json={"model": "scorer", "input_uri": "s3://inputs/no.csv"})
        assert missing.status_code == 404, missing.text
        assert "input_uri" in missing.json()["detail"] and "does not exist" in missing.text
        assert jobs.get("/v1/jobs").json()["total"] == 0
        sent = jobs.post(
            "/v1/jobs", json={"model": "scorer", "input_uri": "s3://inputs/day/rows.csv"}
        )
        assert sent.status_code == 202, sent.text
        done = wait_for(jobs, sent.json()["id"])
        assert (done["status"], done["rows_done"]) == ("succeeded", 120)
        key = f"modelship/jobs/{done['id']}/result.parquet"
        assert s3.head_object(Bucket="results", Key=key)["ContentLength"] > 0
        stolen = jobs.post("/v1/jobs", json={"model": "scorer", "input_uri": f"s3://results/{key}"})
        assert stolen.status_code == 403 and "results store" in stolen.json()["detail"]
        result = jobs.get(f"/v1/jobs/{done['id']}/result")
        assert result.status_code == 200 and result.text.count("\n") == 121
        assert KEYS["aws_secret_access_key"] not in result.text + sent.text
        result_url = f"/v1/jobs/{done['id']}/result"
        until(
            lambda: jobs.get(result_url).status_code == 410, 20, "the result outlived its retention"
        )
        with pytest.raises(ClientError):
            s3.head_object(Bucket="results", Key=key)
        assert billing.get("/v1/me").json()["balance"] == "0.987000"  # 1 - 0.001 - 120 x 0.0001


def test_results_store_down_is_503_and_nothing_held(tmp_path):
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = {"s3_endpoint_url": down, **{f"s3_{k[4:]}": v for k, v in KEYS.items()}}
    with (
        serve_in_thread(scoring_app(SCORER)) as scorer,
        platform(f"sqlite:///{tmp_path / 'm.db'}", [scorer], "s3://results/x", **settings)
        as (url, admin, billing_url),
    ):  # fmt: skip
        billing, jobs = customer(billing_url, admin, url)
        sent = jobs.post("/v1/jobs", data={"model": "scorer"},
                         files={"file": ("rows.csv", csv_rows(5))}, timeout=120)  # fmt: skip
        assert sent.status_code == 503 and "results store" in sent.json()["detail"]
        assert billing.get("/v1/me").json()["held"] == "0.000000"
        assert jobs.get("/v1/jobs").json()["total"] == 0
