"""The ledger: top-ups, and holds that are posted or voided exactly once (two-phase transfers).

Every function is one short transaction. The hold is a conditional ``UPDATE balances ... WHERE
available >= amount``: exact under concurrency on PostgreSQL (row lock) and SQLite (``BEGIN
IMMEDIATE``). Posting and voiding are conditional on ``state = 'pending'``, so a request id
settles at most once whatever the number of callers. A hold moves no money in the ledger; a
capture writes consumer debit = owner credit + platform credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from modelship.db.models import Account, Balance, Hold, LedgerEntry, Topup
from modelship.money import split

PLATFORM = "modelship-platform"  # the platform's revenue account
FUNDING = "modelship-funding"  # where top-ups come from (the money outside the books)


class Conflict(Exception):
    """The same idempotency key with another request."""


def now() -> datetime:
    return datetime.now(UTC)


def ensure_account(s: Session, name: str, role: str, email: str | None = None) -> int:
    found = s.scalar(select(Account.id).where(Account.name == name))
    if found is not None:
        return found
    try:
        with s.begin_nested():  # a concurrent first sighting may win: then read its row
            account = Account(name=name, role=role, email=email)
            s.add(account)
            s.flush()
            s.add(Balance(account_id=account.id, available=0, held=0))
    except IntegrityError:
        return s.scalar(select(Account.id).where(Account.name == name))
    return account.id


def _credit(s: Session, account_id: int, amount: int) -> None:
    s.execute(
        update(Balance)
        .where(Balance.account_id == account_id)
        .values(available=Balance.available + amount)
    )


def topup(db: sessionmaker[Session], account: str, amount: int, key: str) -> int:
    """Credit ``amount`` once per idempotency ``key``; answers the amount credited under it."""
    try:
        with db.begin() as s:
            account_id = s.scalar(select(Account.id).where(Account.name == account))
            if account_id is None:
                raise LookupError(account)
            funding = ensure_account(s, FUNDING, "system")
            s.add(Topup(idempotency_key=key, account_id=account_id, amount=amount))
            s.flush()
            transfer = f"topup:{key}"
            s.execute(
                insert(LedgerEntry),
                [
                    {
                        "transfer_id": transfer,
                        "account_id": account_id,
                        "amount": amount,
                        "kind": "topup",
                    },
                    {
                        "transfer_id": transfer,
                        "account_id": funding,
                        "amount": -amount,
                        "kind": "topup",
                    },
                ],
            )
            _credit(s, account_id, amount)
            _credit(s, funding, -amount)
            return amount
    except IntegrityError:
        with db() as s:
            first = s.get(Topup, key)
            same = (
                first
                and first.amount == amount
                and s.get(Account, first.account_id).name == account
            )
            if not same:
                raise Conflict(key) from None
            return first.amount


@dataclass(frozen=True)
class HoldRequest:
    request_id: str
    account_id: int
    owner_id: int | None
    model: str
    route: str
    rows: int
    amount: int


def hold(db: sessionmaker[Session], req: HoldRequest, ttl_s: float) -> bool:
    """Reserve ``req.amount``; False when the balance is short (nothing written)."""
    with db.begin() as s:
        done = s.execute(
            update(Balance)
            .where(Balance.account_id == req.account_id, Balance.available >= req.amount)
            .values(available=Balance.available - req.amount, held=Balance.held + req.amount)
        )
        if done.rowcount != 1:
            return False
        s.add(
            Hold(
                request_id=req.request_id,
                account_id=req.account_id,
                owner_id=req.owner_id,
                model=req.model,
                route=req.route,
                rows=req.rows,
                amount=req.amount,
                state="pending",
                created_at=now(),
                expires_at=now() + timedelta(seconds=ttl_s),
            )
        )
    return True


def _finish(
    s: Session, request_id: str, state: str, status_code: int | None, unexpired: bool
) -> Hold | None:
    """Move a pending hold to ``state``; None when it was already settled (or expired)."""
    cond = [Hold.request_id == request_id, Hold.state == "pending"]
    if unexpired:
        cond.append(Hold.expires_at > now())
    done = s.execute(
        update(Hold).where(*cond).values(state=state, status_code=status_code, settled_at=now())
    )
    if done.rowcount != 1:
        return None
    return s.get(Hold, request_id)


def capture(
    db: sessionmaker[Session], request_id: str, owner_share: Decimal, status_code: int = 200
) -> bool:
    """Post a hold: consumer pays, owner and platform are credited. True only the first time."""
    with db.begin() as s:
        h = _finish(s, request_id, "posted", status_code, unexpired=True)
        if h is None:
            return False
        owner_amount, platform_amount = split(h.amount, owner_share)
        if h.owner_id is None:
            owner_amount, platform_amount = 0, h.amount
        platform = ensure_account(s, PLATFORM, "system")
        s.execute(
            update(Balance)
            .where(Balance.account_id == h.account_id)
            .values(held=Balance.held - h.amount)
        )
        legs = [(h.account_id, -h.amount), (platform, platform_amount)]
        if h.owner_id is not None:
            legs.append((h.owner_id, owner_amount))
        transfer = f"capture:{request_id}"
        s.execute(
            insert(LedgerEntry),
            [
                {"transfer_id": transfer, "account_id": a, "amount": m, "kind": "capture"}
                for a, m in legs
            ],
        )
        for a, m in legs[1:]:
            _credit(s, a, m)
    return True


def release(db: sessionmaker[Session], request_id: str, status_code: int | None = None) -> bool:
    """Void a hold: the amount is available again. True only the first time."""
    with db.begin() as s:
        h = _finish(s, request_id, "voided", status_code, unexpired=False)
        if h is None:
            return False
        s.execute(
            update(Balance)
            .where(Balance.account_id == h.account_id)
            .values(available=Balance.available + h.amount, held=Balance.held - h.amount)
        )
    return True


def sweep(db: sessionmaker[Session]) -> int:
    """Void every pending hold past its expiry (left by a crash); answers how many."""
    with db() as s:
        expired = s.scalars(
            select(Hold.request_id).where(Hold.state == "pending", Hold.expires_at <= now())
        ).all()
    return sum(release(db, r) for r in expired)


def books(s: Session) -> dict[str, int | bool]:
    """Debits, credits and open holds from the ledger rows; balances must agree with it."""
    debits = -int(s.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.amount < 0)) or 0)
    credits = int(s.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.amount > 0)) or 0)
    open_holds = int(s.scalar(select(func.count()).where(Hold.state == "pending")) or 0)
    per_account = dict(
        s.execute(
            select(LedgerEntry.account_id, func.sum(LedgerEntry.amount)).group_by(
                LedgerEntry.account_id
            )
        ).all()
    )
    agree = all(
        b.available + b.held == int(per_account.get(b.account_id, 0))
        for b in s.scalars(select(Balance))
    )
    return {
        "balanced": debits == credits and agree,
        "debits": debits,
        "credits": credits,
        "open_holds": open_holds,
    }
