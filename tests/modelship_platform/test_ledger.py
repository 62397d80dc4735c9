"""The ledger on SQLite and PostgreSQL: exact holds, settle once, balanced books."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from modelship import ledger
from modelship.db.models import Balance, Hold, LedgerEntry
from modelship.keys import authenticate, create_key
from sqlalchemy import select

SHARE = Decimal("0.8")


def _accounts(db, funds: int = 0):
    with db.begin() as s:
        consumer = ledger.ensure_account(s, "alice", "consumer")
        owner = ledger.ensure_account(s, "olga", "owner")
    if funds:
        ledger.topup(db, "alice", funds, key=str(uuid.uuid4()))
    return consumer, owner


def _hold(db, consumer, owner, amount, ttl_s=60.0, rid=None):
    rid = rid or uuid.uuid4().hex
    req = ledger.HoldRequest(rid, consumer, owner, "m", "predict", 1, amount)
    return rid, ledger.hold(db, req, ttl_s)


def _balance(db, account_id) -> tuple[int, int]:
    with db() as s:
        b = s.get(Balance, account_id)
        return b.available, b.held


def test_topup_idempotent(db):
    consumer, _ = _accounts(db)
    assert ledger.topup(db, "alice", 5_000_000, key="k1") == 5_000_000
    assert ledger.topup(db, "alice", 5_000_000, key="k1") == 5_000_000
    assert _balance(db, consumer) == (5_000_000, 0)
    with pytest.raises(ledger.Conflict):
        ledger.topup(db, "alice", 6_000_000, key="k1")
    with pytest.raises(LookupError):
        ledger.topup(db, "nobody", 1, key="k2")
    with db() as s:
        assert ledger.books(s)["balanced"]


def test_capture_once_and_split(db):
    consumer, owner = _accounts(db, funds=10)
    rid, ok = _hold(db, consumer, owner, 7)
    assert ok and _balance(db, consumer) == (3, 7)
    assert ledger.capture(db, rid, SHARE) is True
    assert ledger.capture(db, rid, SHARE) is False
    assert ledger.release(db, rid) is False
    assert _balance(db, consumer) == (3, 0)
    assert _balance(db, owner) == (5, 0)  # 7 * 0.8 = 5.6, rounded down
    with db() as s:
        legs = s.scalars(
            select(LedgerEntry.amount).where(LedgerEntry.transfer_id == f"capture:{rid}")
        ).all()
        assert sorted(legs) == [-7, 2, 5]
        assert ledger.books(s) == {"balanced": True, "debits": 17, "credits": 17, "open_holds": 0}


def test_rounding_of_one_micro_unit(db):
    consumer, owner = _accounts(db, funds=1)
    rid, _ = _hold(db, consumer, owner, 1)
    ledger.capture(db, rid, SHARE)
    assert _balance(db, owner) == (0, 0)
    with db() as s:
        assert ledger.books(s)["balanced"]


def test_release_returns_the_hold_once(db):
    consumer, owner = _accounts(db, funds=10)
    rid, _ = _hold(db, consumer, owner, 4)
    assert ledger.release(db, rid, status_code=500) is True
    assert ledger.release(db, rid) is False
    assert ledger.capture(db, rid, SHARE) is False
    assert _balance(db, consumer) == (10, 0)


def test_short_balance_holds_nothing(db):
    consumer, owner = _accounts(db, funds=3)
    _, ok = _hold(db, consumer, owner, 4)
    assert not ok and _balance(db, consumer) == (3, 0)
    with db() as s:
        assert s.scalar(select(Hold.request_id)) is None


def test_expired_hold_cannot_be_posted_and_is_swept(db):
    consumer, owner = _accounts(db, funds=10)
    rid, _ = _hold(db, consumer, owner, 6, ttl_s=0.05)
    live, _ = _hold(db, consumer, owner, 1, ttl_s=60)
    time.sleep(0.1)
    assert ledger.capture(db, rid, SHARE) is False
    assert ledger.sweep(db) == 1
    assert _balance(db, consumer) == (9, 1)
    assert ledger.capture(db, live, SHARE) is True


def test_concurrent_holds_are_exact(db):
    """1,000 holds, 100 at a time, a balance for exactly 500: 500 pass, balance 0."""
    consumer, owner = _accounts(db, funds=500 * 3)

    def call(_):
        rid, ok = _hold(db, consumer, owner, 3)
        return ok and ledger.capture(db, rid, SHARE)

    with ThreadPoolExecutor(100) as pool:
        results = list(pool.map(call, range(1000)))
    assert results.count(True) == 500
    assert _balance(db, consumer) == (0, 0)
    with db() as s:
        books = ledger.books(s)
    assert books["balanced"] and books["open_holds"] == 0


def test_keys_hashed_and_revocable(db):
    consumer, _ = _accounts(db)
    with db.begin() as s:
        key, prefix = create_key(s, consumer)
    assert key.startswith(f"ms_{prefix}_")
    with db() as s:
        from modelship.db.models import ApiKey

        stored = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        assert key.split("_", 2)[2] not in stored.hash
        assert authenticate(s, key).name == "alice"
        assert authenticate(s, key + "x") is None
        assert authenticate(s, "garbage") is None
    with db.begin() as s:
        stored = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        stored.revoked_at = ledger.now()
    with db() as s:
        assert authenticate(s, key) is None


def test_owner_calling_its_own_model_pays_the_platform_part(db):
    """Consumer and owner are one account: one leg for it, and the books still balance."""
    owner, _ = _accounts(db, funds=10)
    rid, ok = _hold(db, owner, owner, 7)
    assert ok and ledger.capture(db, rid, SHARE) is True
    assert _balance(db, owner) == (8, 0)  # paid 7, earned 5 back: the platform kept 2
    with db() as s:
        assert ledger.books(s) == {"balanced": True, "debits": 12, "credits": 12, "open_holds": 0}
