"""A scheduler stopped while a tick is under way lets that occurrence end: billing's hold for it
gets its job, never an orphan that only the sweeper frees after the hold's TTL.

Billing sits behind a proxy that answers ``/v1/authorize`` (the hold made) only after a pause; the
scheduler is stopped (SIGTERM) during it. Before, the tick's thread died with the process between the hold and
the job's insert, while billing still made the hold."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from modelship.billing.app import create_app as create_billing
from modelship.db import make_engine, session_factory
from modelship.db.models import Hold
from modelship.scheduler.models import Job
from modelship.settings import Settings
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelship_platform.conftest import ADMIN
from modelship_platform.scheduler_parts import (
    SCORER,
    csv_rows,
    customer,
    scheduler_env,
    scoring_app,
    start_schedulers,
)
from modelship_platform.upstream import serve_in_thread

PAUSE_S = 1.5


def _slow_authorize(billing_url: str, authorizing: threading.Event) -> Starlette:
    """Billing, with the answer to each ``/v1/authorize`` (the hold made) late by ``PAUSE_S``."""

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with httpx.AsyncClient(base_url=billing_url, timeout=30) as client:
            answer = await client.request(
                request.method, request.url.path, content=await request.body(), headers=headers
            )
        if request.url.path == "/v1/authorize":  # held: the answer is late
            authorizing.set()
            await asyncio.sleep(PAUSE_S)
        return Response(answer.content, answer.status_code, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "DELETE"])])


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_stopped_scheduler_ends_the_occurrence_under_way(database_url, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "rows.csv").write_bytes(csv_rows(5))
    authorizing = threading.Event()
    with serve_in_thread(scoring_app(SCORER)) as scorer:
        settings = Settings(database_url=database_url, models=[scorer], admin_key=ADMIN)
        with (
            serve_in_thread(create_billing(settings)) as billing_url,
            serve_in_thread(_slow_authorize(billing_url, authorizing)) as slow_billing,
        ):
            admin = httpx.Client(base_url=billing_url, headers={"Authorization": f"Bearer {ADMIN}"})
            env = scheduler_env(database_url, scorer, slow_billing, tmp_path, time.time())
            env["MODELSHIP_SCHEDULER_WORKER"] = "false"  # the job stays queued: easy to find
            [(scheduler, url)] = start_schedulers(env, tmp_path / "scheduler.log", 1)
            try:
                _billing, jobs = customer(billing_url, admin, url)
                made = jobs.post("/v1/schedules", json={
                    "model": "scorer", "cron": "* * * * *", "timezone": "UTC",
                    "input_uri": str(inputs / "rows.csv"), "output_uri": str(tmp_path / "out")})  # fmt: skip
                assert made.status_code == 201, made.text
                assert authorizing.wait(30), "no occurrence came due"
            finally:
                scheduler.terminate()  # the hold is made, its answer not yet back
                scheduler.wait(30)
    db = session_factory(make_engine(database_url))
    with db() as s:
        holds = s.scalars(select(Hold).where(Hold.route == "jobs")).all()
        jobs_of = {j.hold_id: j for j in s.scalars(select(Job)).all()}
    assert holds, "the scheduler was stopped before it asked billing for a hold"
    orphans = [h.request_id for h in holds if h.state == "pending" and h.request_id not in jobs_of]
    assert not orphans, "a hold without its job: the tick died with the process"
    assert all(jobs_of[h.request_id].status == "queued" for h in holds if h.state == "pending")
