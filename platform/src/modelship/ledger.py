"""The ledger: top-ups, and holds that are posted or voided exactly once (two-phase transfers).

Every function is one short transaction. The hold is a conditional ``UPDATE balances ... WHERE
available >= amount``: exact under concurrency on PostgreSQL (row lock) and SQLite (``BEGIN
IMMEDIATE``). Posting and voiding are conditional on ``state = 'pending'``, so a request id
settles at most once whatever the number of callers. A hold moves no money in the ledger; a
capture writes consumer debit = owner credit + platform credit.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from modelship.db.models import (
    Account,
    ApiKey,
    Balance,
    Hold,
    IdempotentAnswer,
    LedgerEntry,
    Topup,
)
from modelship.keys import expired
from modelship.money import split
from modelship.transfer import Step, apply, move

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


_known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def known_account(s: Session, name: str, role: str) -> int:
    """``ensure_account``, remembered per engine once the row is seen committed (accounts are
    never deleted or renamed): the hot path skips the lookup."""
    ids = _known.setdefault(s.get_bind(), {})
    if name in ids:
        return ids[name]
    found = s.scalar(select(Account.id).where(Account.name == name))
    if found is None:  # created in this transaction, which may yet roll back: not remembered
        return ensure_account(s, name, role)
    ids[name] = found
    return found


def platform_id(db: sessionmaker[Session]) -> int:
    """The platform's revenue account (created on the first capture)."""
    ids = _known.get(db.kw["bind"], {})
    if PLATFORM in ids:
        return ids[PLATFORM]
    with db.begin() as s:
        return known_account(s, PLATFORM, "system")


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
            move(s, {account_id: (amount, 0), funding: (-amount, 0)})
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


BALANCES, HOLDS, LEDGER = Balance.__table__, Hold.__table__, LedgerEntry.__table__
KEYS, ANSWERS = ApiKey.__table__, IdempotentAnswer.__table__


class KeyRevoked(Exception):
    """The caller's key was revoked (checked in the hold's own transaction)."""


@dataclass(frozen=True)
class HoldRequest:
    request_id: str
    account_id: int
    owner_id: int | None
    model: str
    route: str
    rows: int
    amount: int
    key_id: int | None = None  # when set, the hold also checks the key is not revoked
    idempotency: tuple[str, str] | None = None  # (client key, body SHA-256): claimed with it
    settle_key: str | None = None  # SHA-256 of the token that may settle it (/v1/authorize)


B = bindparam
# Built once (constructing SQLAlchemy statements costs more than running them); values are bound
# under names that are no column's (a parameter named like a column would also set it).
DEBIT = (
    update(BALANCES)
    .where(BALANCES.c.account_id == B("p_account_id"), BALANCES.c.available >= B("p_amount"))
    .values(available=BALANCES.c.available - B("p_amount"), held=BALANCES.c.held + B("p_amount"))
)
DEBIT_IF_KEY_LIVE = DEBIT.where(
    exists().where(
        KEYS.c.id == B("p_key_id"),
        KEYS.c.revoked_at.is_(None),
        or_(KEYS.c.expires_at.is_(None), KEYS.c.expires_at > B("p_at")),
    )
)
_SETTLE = update(HOLDS).where(HOLDS.c.request_id == B("p_request_id"), HOLDS.c.state == "pending")
POST = _SETTLE.where(HOLDS.c.expires_at > B("p_at")).values(
    state="posted", status_code=B("p_status_code"), settled_at=B("p_at")
)
# A partial capture (a scheduler job that delivered part of its rows) records what it took.
POST_PART = POST.values(amount=B("p_captured"), rows=B("p_rows"))
VOID = _SETTLE.values(state="voided", status_code=B("p_status_code"), settled_at=B("p_at"))
STORE_ANSWER = (
    update(ANSWERS)
    .where(ANSWERS.c.request_id == B("p_request_id"))
    .values(
        status_code=B("p_answer_status"), content_type=B("p_answer_type"), body=B("p_answer_body")
    )
)
FREE_CLAIM = delete(ANSWERS).where(ANSWERS.c.request_id == B("p_request_id"))
PENDING = select(HOLDS.c.account_id, HOLDS.c.owner_id, HOLDS.c.amount).where(
    HOLDS.c.request_id == B("p_request_id"), HOLDS.c.state == "pending"
)


def hold(db: sessionmaker[Session], req: HoldRequest, ttl_s: float) -> bool:
    """Reserve ``req.amount``; False when the balance is short (nothing written).

    Raises :class:`KeyRevoked` for a revoked key and ``IntegrityError`` when the idempotency
    key is already claimed; in both cases nothing is written.
    """
    held = apply(db, hold_step(req, ttl_s))
    if not held:
        check_key(db, req.key_id)
    return held


def check_key(db: sessionmaker[Session], key_id: int | None) -> None:
    """Raise :class:`KeyRevoked` when ``key_id`` is revoked or expired (why a hold with it was
    refused)."""
    if key_id is not None:
        with db() as s:
            found = s.execute(
                select(KEYS.c.revoked_at, KEYS.c.expires_at).where(KEYS.c.id == key_id)
            ).first()
        if found and (found.revoked_at or expired(found.expires_at)):
            raise KeyRevoked(key_id)


def hold_step(req: HoldRequest, ttl_s: float) -> Step:
    at = now()
    pending = {
        "request_id": req.request_id,
        "account_id": req.account_id,
        "owner_id": req.owner_id,
        "model": req.model,
        "route": req.route,
        "rows": req.rows,
        "amount": req.amount,
        "state": "pending",
        "created_at": at,
        "expires_at": at + timedelta(seconds=ttl_s),
    }
    if req.settle_key is not None:
        pending["settle_key"] = req.settle_key
    rows = [(HOLDS, [pending])]
    if req.idempotency is not None:
        key, body_sha256 = req.idempotency
        claim = {"account_id": req.account_id, "key": key, "body_sha256": body_sha256}
        rows.append((ANSWERS, [{**claim, "request_id": req.request_id, "created_at": at}]))
    guard = DEBIT if req.key_id is None else DEBIT_IF_KEY_LIVE
    params = {"p_account_id": req.account_id, "p_amount": req.amount, "p_key_id": req.key_id}
    if req.key_id is not None:
        params["p_at"] = at
    return Step(guard, params, rows=rows)


def _pending(db: sessionmaker[Session], request_id: str):
    """A hold's (account_id, owner_id, amount): written once at the hold, never changed."""
    with db() as s:
        return s.execute(PENDING, {"p_request_id": request_id}).first()


@dataclass(frozen=True)
class Answer:
    """A 2xx answer stored under the client's idempotency key, replayed on a retry."""

    status_code: int
    content_type: str | None
    body: bytes


def capture(
    db: sessionmaker[Session],
    request_id: str,
    owner_share: Decimal,
    status_code: int = 200,
    answer: Answer | None = None,
    held: tuple[int, int | None, int] | None = None,
    part: tuple[int, int] | None = None,
) -> bool:
    """Post a hold: consumer pays, owner and platform are credited. True only the first time.

    ``held`` is the hold's (account_id, owner_id, amount) when the caller made it (the gateway):
    one read fewer. Otherwise it is read from the hold row. ``part`` = (amount, rows) captures
    only that much (at most the held amount) and releases the rest in the same step.
    """
    h = held or _pending(db, request_id)
    if h is None:
        return False
    platform = platform_id(db)
    return apply(db, capture_step(request_id, owner_share, status_code, answer, h, platform, part))


def capture_step(
    request_id: str,
    owner_share: Decimal,
    status_code: int,
    answer: Answer | None,
    held: tuple[int, int | None, int],
    platform: int,
    part: tuple[int, int] | None = None,
) -> Step:
    """The capture of a hold ``held`` = (account_id, owner_id, amount), ``platform`` the
    platform's account id; ``part`` = (amount, rows) for a partial capture."""
    account_id, owner_id, amount = held
    taken = amount if part is None else min(part[0], amount)
    owner_amount, platform_amount = split(taken, owner_share)
    if owner_id is None:
        owner_amount, platform_amount = 0, taken
    # One leg per account: an owner calling its own model pays only the platform's part.
    legs = {account_id: -taken}
    for a, m in ((platform, platform_amount), (owner_id, owner_amount)):
        if a is not None:
            legs[a] = legs.get(a, 0) + m
    transfer = f"capture:{request_id}"
    entries = [
        {"transfer_id": transfer, "account_id": a, "amount": m, "kind": "capture"}
        for a, m in legs.items()
    ]
    # The consumer's hold is spent (held - amount); its debit already left ``available``, and
    # what a partial capture does not take goes back there.
    moves = {a: (m + amount, -amount) if a == account_id else (m, 0) for a, m in legs.items()}
    params = {"p_request_id": request_id, "p_status_code": status_code, "p_at": now()}
    guard = POST
    if part is not None:
        guard = POST_PART
        params |= {"p_captured": taken, "p_rows": part[1]}
    extra = []
    if answer is not None:
        extra.append(STORE_ANSWER)
        params |= {
            "p_answer_status": answer.status_code,
            "p_answer_type": answer.content_type,
            "p_answer_body": answer.body,
        }
    return Step(guard, params, rows=[(LEDGER, entries)], moves=moves, extra=extra)


def release(
    db: sessionmaker[Session],
    request_id: str,
    status_code: int | None = None,
    held: tuple[int, int | None, int] | None = None,
) -> bool:
    """Void a hold: the amount is available again. True only the first time.

    An idempotency key claimed by the call is freed: nothing was charged, a retry runs again.
    ``held`` as for :func:`capture`.
    """
    h = held or _pending(db, request_id)
    if h is None:
        return False
    return apply(db, release_step(request_id, status_code, h))


def release_step(request_id: str, status_code: int | None, held: tuple) -> Step:
    account_id, _owner_id, amount = held
    params = {"p_request_id": request_id, "p_status_code": status_code, "p_at": now()}
    return Step(VOID, params, moves={account_id: (amount, -amount)}, extra=[FREE_CLAIM])


def sweep(db: sessionmaker[Session]) -> int:
    """Void every pending hold past its expiry (left by a crash); answers how many."""
    with db() as s:
        expired = s.scalars(
            select(Hold.request_id).where(Hold.state == "pending", Hold.expires_at <= now())
        ).all()
    return sum(release(db, r) for r in expired)


def books(s: Session) -> dict[str, int | bool]:
    """Debits, credits and open holds from the ledger rows; balances must agree with it.

    One snapshot: on PostgreSQL the queries run in a REPEATABLE READ transaction, else captures
    committing between them would make balanced books look unbalanced.
    """
    if s.get_bind().dialect.name == "postgresql":
        if s.in_transaction():  # the level of a transaction is set before its first statement
            s.commit()
        s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
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
