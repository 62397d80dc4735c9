"""PostgreSQL's group commit: many calls' holds and settles in one round trip, same rules."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from modelship import ledger
from modelship.billing.app import create_app
from modelship.db.models import ApiKey, Balance, Hold
from modelship.keys import create_key
from modelship.ledger_batches import LedgerBatches, has_function
from sqlalchemy import select, update

from modelship_platform.test_gateway import consumer
from modelship_platform.upstream import serve_in_thread

SHARE = Decimal("0.8")
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _parties(db, funds: int):
    with db.begin() as s:
        alice = ledger.ensure_account(s, "alice", "consumer")
        olga = ledger.ensure_account(s, "olga", "owner")
    ledger.topup(db, "alice", funds, key="funds")
    return alice, olga, _key_id(db, alice), ledger.platform_id(db)


def _key_id(db, account_id: int, revoked: bool = False) -> int:
    with db.begin() as s:
        _key, prefix = create_key(s, account_id)
        s.flush()
        key = s.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one()
        if revoked:
            key.revoked_at = ledger.now()
        return key.id


def _request(alice, olga, amount, key_id=None):
    return ledger.HoldRequest(uuid.uuid4().hex, alice, olga, "m", "predict", 1, amount, key_id)


def _balance(db, account_id) -> tuple[int, int]:
    with db() as s:
        b = s.get(Balance, account_id)
        return b.available, b.held


def test_the_database_has_the_batch_function(engine):
    assert has_function(engine)


def test_concurrent_steps_share_round_trips_and_stay_exact(engine, db):
    """60 holds at once against funds for 40: exactly 40 held, in a few round trips; then 20
    captured and 20 released at once: the books balance to the micro-unit."""
    alice, olga, key_id, platform = _parties(db, 40 * 7)

    async def run():
        batches = LedgerBatches(engine)
        try:
            reqs = [_request(alice, olga, 7, key_id) for _ in range(60)]
            held = await asyncio.gather(*(batches.hold(r, 60) for r in reqs))
            assert held.count(True) == 40
            trips = batches.batches
            mine = [r for r, ok in zip(reqs, held) if ok]
            steps = [
                ledger.capture_step(r.request_id, SHARE, 200, None, (alice, olga, 7), platform)
                for r in mine[:20]
            ] + [ledger.release_step(r.request_id, 502, (alice, olga, 7)) for r in mine[20:]]
            settled = await asyncio.gather(*(batches.settle(s) for s in steps))
            return trips, batches.batches - trips, settled
        finally:
            await batches.close()

    hold_trips, settle_trips, settled = asyncio.run(run())
    assert hold_trips <= 3 and settle_trips <= 3  # one step, then the rest gathered meanwhile
    assert settled == [True] * 40
    assert _balance(db, alice) == (20 * 7, 0)
    assert _balance(db, olga) == (20 * 5, 0)  # 80% of 7, rounded down: 5
    assert _balance(db, platform) == (20 * 2, 0)
    with db() as s:
        assert ledger.books(s) == {"balanced": True, "debits": 420, "credits": 420, "open_holds": 0}


def test_one_batch_keeps_every_rule_of_the_single_steps(engine, db):
    """In one round trip: a settle sent twice posts once, an expired hold is not posted, a
    release frees what a hold of the same batch needs, a revoked key holds nothing."""
    alice, olga, key_id, platform = _parties(db, 10)
    first, expired = _request(alice, olga, 6), _request(alice, olga, 4)
    assert ledger.hold(db, first, 60) and ledger.hold(db, expired, 60)
    with db.begin() as s:
        s.execute(
            update(Hold)
            .where(Hold.request_id == expired.request_id)
            .values(expires_at=ledger.now() - timedelta(seconds=1))
        )
    revoked_id = _key_id(db, alice, revoked=True)

    capture = ledger.capture_step(expired.request_id, SHARE, 200, None, (alice, olga, 4), platform)
    release = ledger.release_step(first.request_id, 500, (alice, olga, 6))

    async def run():
        batches = LedgerBatches(engine)
        try:
            answers = [
                batches.settle(capture),
                batches.settle(release),
                batches.settle(release),
                batches.hold(_request(alice, olga, 6, key_id), 60),  # only after the release
                batches.hold(_request(alice, olga, 1, revoked_id), 60),
            ]
            return await asyncio.gather(*answers), batches.batches
        finally:
            await batches.close()

    outcome, trips = asyncio.run(run())
    assert trips == 1
    assert outcome == [False, True, False, True, False]
    assert _balance(db, alice) == (0, 4 + 6)  # the expired hold waits for the sweeper
    assert ledger.sweep(db) == 1
    with db() as s:
        assert ledger.books(s)["balanced"]


def test_the_gateway_batches_its_ledger_steps_under_load(settings):
    """200 metered calls, 50 at a time: every one held and captured, in far fewer round trips
    than the 400 steps (each call's hold and capture)."""
    app = create_app(settings)
    with serve_in_thread(app) as url:
        admin = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {settings.admin_key}"}
        )
        alice = consumer(url, admin, amount="1.000000")
        with ThreadPoolExecutor(50) as pool:
            codes = list(
                pool.map(
                    lambda _: alice.post("/v1/models/fraud-a/predict", json={"x": 1}).status_code,
                    range(200),
                )
            )
        trips = app.state.batches.batches
        books = admin.get("/v1/admin/ledger").json()
        balance = alice.get("/v1/me").json()["balance"]
        admin.close()
    assert codes == [200] * 200
    assert trips < 300, trips
    assert books["balanced"] and books["open_holds"] == 0
    assert balance == "0.780000"  # 1.00 - 200 x (0.001 + 1 row x 0.0001)
    assert books["debits"] == "1.220000"  # the top-up's funding leg and the 200 captures
