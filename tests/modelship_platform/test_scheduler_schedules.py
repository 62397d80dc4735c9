"""Recurring schedules: two scheduler processes on one PostgreSQL database and a schedule every
minute (a clock driven by the settings, 60x real time): each occurrence runs exactly once, none
is skipped, each is charged once and written to its own partition; after downtime only the
latest missed occurrence runs, and the log says so. The model cards' own schedules are listed
with their next times."""

from __future__ import annotations

import itertools
import subprocess
import time
from datetime import timedelta

import httpx
import pytest
from modelship.billing.app import create_app as create_billing
from modelship.db import make_engine, session_factory
from modelship.db.models import Hold
from modelship.scheduler.models import Job
from sqlalchemy import func, select

from modelship_platform.conftest import ADMIN
from modelship_platform.scheduler_parts import (
    ORIGIN,
    SCORER,
    csv_rows,
    customer,
    scheduler_env,
    scoring_app,
    start_schedulers,
    until,
)
from modelship_platform.upstream import serve_in_thread


def _card():
    notes = {**SCORER["metadata"]["annotations"], "modelship.io/retrain-schedule": "0 3 * * *"}
    return {**SCORER, "metadata": {**SCORER["metadata"], "annotations": notes}}


def _until(db, check, timeout_s: float = 20) -> None:
    def holds() -> bool:
        with db() as s:
            return check(s)

    until(holds, timeout_s, "timed out")


def _stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(15)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_schedulers_run_each_occurrence_once(database_url, tmp_path):
    from modelship.settings import Settings

    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (inputs / "rows.csv").write_bytes(csv_rows(30))
    with serve_in_thread(scoring_app(_card(), max_rows=10)) as scorer:
        billing_settings = Settings(database_url=database_url, models=[scorer], admin_key=ADMIN)
        with serve_in_thread(create_billing(billing_settings)) as billing_url:
            admin = httpx.Client(base_url=billing_url, headers={"Authorization": f"Bearer {ADMIN}"})
            anchor = time.time()
            env = scheduler_env(database_url, scorer, billing_url, tmp_path, anchor)
            log = tmp_path / "schedulers.log"
            (a, a_url), (b, _b_url) = start_schedulers(env, log, 2)
            try:
                _billing, jobs = customer(billing_url, admin, a_url)
                made = jobs.post("/v1/schedules", json={
                    "model": "scorer", "cron": "* * * * *", "timezone": "Europe/Paris",
                    "input_uri": str(inputs / "rows.csv"), "output_uri": str(output)})  # fmt: skip
                assert made.status_code == 201, made.text
                listed = jobs.get("/v1/schedules").json()
                assert [s["id"] for s in listed["items"]] == [made.json()["id"]]
                assert listed["model_cards"] == [{
                    "model": "scorer", "kind": "retrain", "cron": "0 3 * * *", "timezone": "UTC",
                    "next": "2030-01-01T03:00:00+00:00", "source": "model card"}]  # fmt: skip
                bad = jobs.post("/v1/schedules", json={**made.json(), "cron": "61 * * * *"})
                assert bad.status_code == 422 and "cron" in bad.text
                time.sleep(4.5)  # about four fake minutes
            finally:
                _stop(a, b)
            db = session_factory(make_engine(database_url))
            with db() as s:
                runs = s.scalars(select(Job).order_by(Job.scheduled_for)).all()
                times = [r.scheduled_for for r in runs]
                assert len(times) >= 3 and len(set(times)) == len(times)
                minute = timedelta(minutes=1)
                assert all(b - a == minute for a, b in itertools.pairwise(times))
            # downtime of five fake minutes: restart one scheduler with the clock moved on
            late = {**env, "MODELSHIP_CLOCK_ORIGIN": (ORIGIN + timedelta(minutes=6)).isoformat()}
            [(c, c_url)] = start_schedulers(late, log, 1)
            try:
                _until(db, lambda s: s.scalar(select(func.count()).select_from(Job)) > len(times))
                paused = jobs.post(f"{c_url}/v1/schedules/{made.json()['id']}/pause")
                assert paused.status_code == 200 and paused.json()["paused"] is True
                # what a tick started before the pause still submits runs to its end too
                unsettled = select(func.count()).select_from(Job).where(Job.settled_at.is_(None))
                _until(db, lambda s: s.scalar(unsettled) == 0)
            finally:
                _stop(c)
            with db() as s:
                runs = s.scalars(select(Job).order_by(Job.scheduled_for)).all()
                held = s.scalars(select(Hold).where(Hold.route == "jobs")).all()
            assert [r.scheduled_for for r in runs[: len(times)]] == times
            after = [r.scheduled_for for r in runs[len(times) :]]
            assert after[0] - times[-1] >= timedelta(minutes=3)  # the missed ones: the latest only
            assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(after))
            assert all(r.status == "succeeded" and r.rows_done == 30 for r in runs)
            posted = [h for h in held if h.state == "posted"]
            assert len(posted) == len(runs)  # each occurrence charged once
            assert not [h for h in held if h.state == "pending"]
            partitions = sorted(p.name for p in output.iterdir())
            assert partitions == [f"scheduled_time={r.scheduled_for:%Y%m%dT%H%M}" for r in runs]
            text = log.read_text()
            assert "missed while no scheduler ran" in text and ADMIN not in text
