"""Parts of the scheduler tests: a scoring model service with a signature, a real SMTP server
(aiosmtpd), and the billing + scheduler pair served on loopback over one database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from modelship.billing.app import create_app as create_billing
from modelship.scheduler.app import create_app as create_scheduler
from modelship.settings import Settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from modelship_platform import SCRIPT
from modelship_platform.conftest import ADMIN
from modelship_platform.postgres import free_port
from modelship_platform.test_gateway import consumer
from modelship_platform.upstream import card, serve_in_thread, wait_until_up

SIGNATURE = {
    "inputs": [
        {"name": "x", "type": "double", "required": True},
        {"name": "n", "type": "long", "required": True},
        {"name": "note", "type": "string", "required": False},
    ],
    "outputs": [{"type": "double", "required": True}],
}
SCORER = card("scorer", "olga", "public", "0.001", "0.0001")


def scoring_app(
    model_card: dict, max_rows: int = 100, delay_s: float = 0.0, seen: list | None = None
) -> Starlette:
    """A model service: each record scores ``x * 2 + n``; a record with ``x == -1`` makes the
    whole call fail (500), as a model that breaks on some input; ``delay_s`` per call; the
    ``n`` of every row it scored is appended to ``seen``."""

    async def info(_: Request):
        return JSONResponse(
            {"name": model_card["metadata"]["name"], "card": model_card, "signature": SIGNATURE,
             "limits": {"max_request_rows": max_rows}}
        )  # fmt: skip

    async def ready(_: Request):
        return JSONResponse({"status": "ready"})

    async def batch(request: Request):
        body = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("text/csv"):
            rows = [{"x": float(r["x"]), "n": int(r["n"]), "note": r.get("note") or None}
                    for r in csv.DictReader(io.StringIO(body))]  # fmt: skip
        else:
            rows = json.loads(body)
        if len(rows) > max_rows:
            return JSONResponse({"detail": "too many rows"}, status_code=413)
        await asyncio.sleep(delay_s)
        if any(r["x"] == -1 for r in rows):
            return JSONResponse({"detail": "model exploded on x=-1"}, status_code=500)
        if seen is not None:
            seen.extend(r["n"] for r in rows)
        return JSONResponse({"predictions": [r["x"] * 2 + r["n"] for r in rows]})

    return Starlette(
        routes=[
            Route("/info", info),
            Route("/health/ready", ready),
            Route("/predict/batch", batch, methods=["POST"]),
        ]
    )


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@contextmanager
def smtp_server():
    """A real SMTP server on loopback; yields (smtp URL, inbox)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", inbox
    finally:
        controller.stop()


def scheduler_settings(database_url: str, models: list[str], billing_url: str, results, **more):
    return Settings(
        database_url=database_url, models=models, admin_key=ADMIN, billing_url=billing_url,
        results_url=str(results), poll_s=0.05, lease_s=5, **more,
    )  # fmt: skip


@contextmanager
def platform(database_url: str, models: list[str], results, with_worker=True, **more):
    """Billing and the scheduler (with its worker) on loopback, one database; yields
    (scheduler URL, admin client of billing, billing URL)."""
    billing = Settings(database_url=database_url, models=models, admin_key=ADMIN)
    with serve_in_thread(create_billing(billing)) as billing_url:
        settings = scheduler_settings(database_url, models, billing_url, results, **more)
        with serve_in_thread(create_scheduler(settings, with_worker)) as url:
            admin = httpx.Client(
                base_url=billing_url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
            )
            yield url, admin, billing_url
            admin.close()


def customer(billing_url: str, admin: httpx.Client, scheduler_url: str, name="alice", amount="1.00",
             email: str | None = None) -> tuple[httpx.Client, httpx.Client]:  # fmt: skip
    """An account with a key and ``amount``: (billing client, scheduler client)."""
    if email:
        done = admin.post("/v1/accounts", json={"name": name, "role": "consumer", "email": email})
        assert done.status_code == 201, done.text
        key = admin.post(f"/v1/accounts/{name}/keys").json()["key"]
        admin.post(f"/v1/accounts/{name}/topups", json={"amount": amount},
                   headers={"Idempotency-Key": f"{name}-1"})  # fmt: skip
        billing = httpx.Client(base_url=billing_url, headers={"Authorization": f"Bearer {key}"})
    else:
        billing = consumer(billing_url, admin, name=name, amount=amount)
    jobs = httpx.Client(base_url=scheduler_url, headers=billing.headers, timeout=90)
    return billing, jobs


def csv_rows(count: int, fail_at: int | None = None) -> bytes:
    lines = ["x,n,note"]
    for i in range(count):
        x = -1 if i == fail_at else i * 0.5
        lines.append(f"{x},{i},row {i}")
    return ("\n".join(lines) + "\n").encode()


def until(check: Callable[[], object], timeout_s: float, failure: str) -> None:
    """Polls ``check`` until it is true; fails with ``failure`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def wait_for(client: httpx.Client, job_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled") and job["settled_at"]:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


ORIGIN = datetime(2030, 1, 1, 0, 0, 40, tzinfo=UTC)
SPEED = 60.0  # a minute a second


def scheduler_env(database_url: str, scorer: str, billing_url: str, tmp_path: Path,
                  anchor: float) -> dict[str, str]:  # fmt: skip
    """A scheduler's settings: results and inputs under ``tmp_path``, a tick every 0.2 s, the
    clock at ``ORIGIN`` at ``anchor`` (a ``time.time()``), ``SPEED`` times real time."""
    return {
        **os.environ,
        "MODELSHIP_DATABASE_URL": database_url,
        "MODELSHIP_MODELS": scorer,
        "MODELSHIP_ADMIN_KEY": ADMIN,
        "MODELSHIP_BILLING_URL": billing_url,
        "MODELSHIP_RESULTS_URL": str(tmp_path / "results"),
        "MODELSHIP_INPUT_FOLDERS": str(tmp_path / "in"),
        "MODELSHIP_SCHEDULE_TICK_S": "0.2",
        "MODELSHIP_POLL_S": "0.1",
        "MODELSHIP_CLOCK_ORIGIN": ORIGIN.isoformat(),
        "MODELSHIP_CLOCK_ANCHOR": str(anchor),
        "MODELSHIP_CLOCK_SPEED": str(SPEED),
    }


def start_schedulers(env: dict, log: Path, count: int) -> list[tuple[subprocess.Popen, str]]:
    """``count`` ``modelship scheduler`` processes (API and worker each), started together."""
    started = []
    for _ in range(count):
        port = free_port()
        with log.open("ab") as out:
            proc = subprocess.Popen([str(SCRIPT), "scheduler"],
                                    env={**env, "MODELSHIP_PORT": str(port)},
                                    stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        started.append((proc, f"http://127.0.0.1:{port}"))
    for proc, url in started:
        wait_until_up(f"{url}/health/live", proc, timeout_s=30)
    return started
