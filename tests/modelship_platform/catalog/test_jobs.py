"""A batch above the catalog's interactive limit runs as a scheduler job: submitted from the
page with the viewer's session key, its progress on /jobs/{id}, the result as CSV, charged
once through billing (real billing, scheduler with its worker and catalog on loopback)."""

from __future__ import annotations

import re
import time

import pytest
from modelship.catalog.app import create_app as catalog_app
from modelship.settings import Settings

from modelship_platform.catalog.stack import Stack, csrf_of, signed_in
from modelship_platform.conftest import ADMIN
from modelship_platform.scheduler_parts import SCORER, platform, scoring_app
from modelship_platform.upstream import serve_in_thread

ROWS = b"x,n\n1.5,1\n2,2\n3,3\n4,4\n5.5,5\n"


@pytest.fixture(scope="module")
def scorer():
    with serve_in_thread(scoring_app(SCORER, max_rows=2)) as url:
        yield url


def test_a_big_batch_runs_as_a_job_from_the_model_page(database_url, scorer, tmp_path):
    with platform(database_url, [scorer], tmp_path / "results") as (jobs_url, admin, billing):
        settings = Settings(database_url=database_url, models=[scorer], admin_key=ADMIN,
                            billing_url=billing, scheduler_url=jobs_url, interactive_rows=2)  # fmt: skip
        with serve_in_thread(catalog_app(settings)) as catalog:
            email = Stack(catalog, billing, admin, database_url).person("rita", amount="1.00")
            browser = signed_in(catalog, email)
            page = browser.get("/models/scorer")
            checked = browser.post(
                "/models/scorer/batch",
                data={"csrf": csrf_of(page)},
                files={"file": ("rows.csv", ROWS, "text/csv")},
            )
            assert checked.status_code == 200, checked.text
            assert "5 rows is more than 2" in checked.text
            action = re.search(r'action="(/models/scorer/batch/[^"]+/job)"', checked.text)[1]
            refused = browser.post(action, data={})  # no CSRF token: nothing is submitted
            assert refused.status_code == 403
            sent = browser.post(action, data={"csrf": csrf_of(checked)})
            assert sent.status_code == 303, sent.text
            where = sent.headers["location"]
            again = browser.post(action, data={"csrf": csrf_of(checked)})  # a double submit
            assert again.headers["location"] == where
            deadline = time.monotonic() + 30
            while "Charged:" not in (job := browser.get(where)).text:  # ended and settled
                assert 'http-equiv="refresh"' in job.text  # the page follows the job itself
                assert "failed" not in job.text and time.monotonic() < deadline, job.text
                time.sleep(0.2)
            assert "succeeded" in job.text
            assert 'role="status"' in job.text and "5 of 5 rows scored" in job.text
            assert "Charged: 0.001500" in job.text  # 0.001 a call + 5 x 0.0001 a row, once
            assert 'http-equiv="refresh"' not in job.text
            result = browser.get(f"{where}/result.csv")
            assert result.status_code == 200
            lines = result.text.strip().splitlines()
            assert len(lines) == 6 and lines[0].replace('"', "") == "x,n,prediction"
            assert [float(line.rsplit(",", 1)[1]) for line in lines[1:]] == [4, 6, 9, 12, 16]
            assert "0.998500" in browser.get("/account").text  # 1.00 less the one charge
            ledger = admin.get("/v1/admin/ledger").json()
            assert ledger["balanced"] and ledger["open_holds"] == 0
            stranger = browser.get(where.replace(where.rsplit("/", 1)[1], "0" * 32))
            assert stranger.status_code == 404
