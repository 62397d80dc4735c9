"""A gateway killed (SIGKILL) with calls in flight: after a restart the sweeper frees every hold."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from modelship import ledger
from modelship.db import make_engine, session_factory
from modelship.db.models import Balance, Hold, LedgerEntry
from sqlalchemy import func, select

from modelship_platform import SCRIPT
from modelship_platform.postgres import free_port
from modelship_platform.test_gateway import ADMIN, consumer
from modelship_platform.upstream import wait_until_up


def _start(database_url, models, port, ttl_s):
    env = {
        **os.environ,
        "MODELSHIP_DATABASE_URL": database_url,
        "MODELSHIP_PORT": str(port),
        "MODELSHIP_MODELS": ",".join(models),
        "MODELSHIP_ADMIN_KEY": ADMIN,
        "MODELSHIP_HOLD_TTL_S": str(ttl_s),
    }
    proc = subprocess.Popen(
        [str(SCRIPT), "billing"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health/live", proc, timeout_s=30)
    except RuntimeError:
        proc.kill()
        raise
    return proc, url


def test_sigkill_then_sweep(database_url, upstreams):
    proc, url = _start(database_url, upstreams, free_port(), ttl_s=2)
    db = session_factory(make_engine(database_url))
    try:
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"})
        alice = consumer(url, admin)
        alice.post("/v1/models/fraud-a/predict", json={})  # one captured before the crash

        def slow(_):
            try:
                alice.post("/v1/models/fraud-a/predict", json={"sleep": 5}, timeout=10)
            except httpx.HTTPError:
                pass

        with ThreadPoolExecutor(10) as pool:
            futures = [pool.submit(slow, i) for i in range(10)]
            for _ in range(200):
                with db() as s:
                    if s.scalar(select(func.count()).where(Hold.state == "pending")) == 10:
                        break
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            for f in futures:
                f.result()
    finally:
        proc.kill()
        proc.wait(10)
    with db() as s:
        assert s.scalar(select(func.count()).where(Hold.state == "pending")) == 10
    proc, url = _start(database_url, upstreams, free_port(), ttl_s=2)
    try:
        for _ in range(100):
            with db() as s:
                if not s.scalar(select(func.count()).where(Hold.state == "pending")):
                    break
            time.sleep(0.1)
        with db() as s:
            alice_id = s.scalar(select(Hold.account_id).limit(1))
            balance = s.get(Balance, alice_id)
            captured = -sum(
                s.scalars(
                    select(LedgerEntry.amount).where(
                        LedgerEntry.account_id == alice_id, LedgerEntry.kind == "capture"
                    )
                )
            )
            books = ledger.books(s)
        assert books["open_holds"] == 0 and books["balanced"]
        assert balance.held == 0 and captured == 1_100
        assert balance.available + captured == 1_000_000
    finally:
        proc.terminate()
        proc.wait(10)
