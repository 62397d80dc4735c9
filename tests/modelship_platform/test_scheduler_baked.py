"""A 5,000-row CSV job against a real baked model service: every row, in order, equal to the
service's own ``/predict/batch`` answers; chunks of the service's own row limit (its ``/info``);
the charge exactly rows x price + call; an email with the result link through a real SMTP
server."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import httpx
import pyarrow.csv
import pytest

from modelship_platform.scheduler_parts import customer, platform, smtp_server, wait_for
from modelship_platform.test_baked_model import serve_baked

ROWS = 5000
CATEGORIES = ["grocery", "fuel", "electronics", "travel", "online", "restaurant"]


@pytest.fixture(scope="module")
def baked_service(tmp_path_factory) -> Iterator[str]:
    """``fraud-detector``: public, 0.001 a call and 0.0001 a row, at most 1000 rows a call."""
    yield from serve_baked(
        tmp_path_factory, "fraud-detector", owner="olga", price_per_call="0.001",
        price_per_row="0.0001", max_batch_rows="1000",
    )  # fmt: skip


def _csv() -> bytes:
    rng = random.Random(12)
    lines = ["amount,merchant_category,hour,day_of_week,user_age,account_balance"]
    for _ in range(ROWS):
        lines.append(
            f"{rng.uniform(1, 3000):.2f},{rng.choice(CATEGORIES)},{rng.randrange(24)},"
            f"{rng.randrange(7)},{rng.randrange(18, 90)},{rng.uniform(0, 20000):.2f}"
        )
    return ("\n".join(lines) + "\n").encode()


def test_a_5000_row_job_equals_direct_batches(baked_service, tmp_path):
    body = _csv()
    with (
        smtp_server() as (smtp_url, inbox),
        platform(f"sqlite:///{tmp_path / 'm.db'}", [baked_service], tmp_path / "results",
                 smtp_url=smtp_url, job_chunk_rows=5000,
                 public_url="https://jobs.example.test") as (url, admin, billing_url),
    ):  # fmt: skip
        billing, jobs = customer(billing_url, admin, url, email="alice@example.test")
        sent = jobs.post("/v1/jobs", data={"model": "fraud-detector"},
                         files={"file": ("transactions.csv", body, "text/csv")})  # fmt: skip
        assert sent.status_code == 202, sent.text
        done = wait_for(jobs, sent.json()["id"], timeout_s=120)
        assert (done["status"], done["rows_done"], done["error"]) == ("succeeded", ROWS, None)
        assert done["charge"] == "0.501000"  # 0.001 + 5000 x 0.0001, exactly
        assert billing.get("/v1/me").json()["balance"] == "0.499000"
        chunks = list((tmp_path / "results" / "jobs" / done["id"] / "chunks").iterdir())
        assert len(chunks) == 5  # the service's own limit (its /info), not the settings' 5000
        result = pyarrow.csv.read_csv(
            io.BytesIO(jobs.get(f"/v1/jobs/{done['id']}/result").content)
        ).to_pylist()
        lines = body.decode().splitlines()
        direct = []
        for start in range(1, ROWS + 1, 1000):  # the floor a user would write: 1000-row calls
            chunk = "\n".join([lines[0], *lines[start : start + 1000]]) + "\n"
            answer = httpx.post(f"{baked_service}/predict/batch", content=chunk,
                                headers={"content-type": "text/csv"}, timeout=60)  # fmt: skip
            assert answer.status_code == 200, answer.text
            direct += answer.json()["predictions"]
        assert len(result) == len(direct) == ROWS
        fields = sorted(direct[0])
        for i, (row, expected) in enumerate(zip(result, direct, strict=True)):
            assert row["hour"] == int(lines[i + 1].split(",")[2])
            assert {f: row[f"prediction_{f}"] for f in fields} == expected, i
        assert len(inbox.messages) == 1
        mail = inbox.messages[0]
        assert mail["To"] == "alice@example.test" and "succeeded" in mail["Subject"]
        text = mail.get_content()
        assert f"https://jobs.example.test/v1/jobs/{done['id']}/result" in text
        assert "0.501000" in text and "5000 of 5000" in text
