"""SQLAlchemy 2 models of billing: accounts, keys, holds and the append-only ledger.

Money columns are integers in micro-units (1 EUR = 1_000_000). ``balances`` is the row the hold
updates conditionally (``available >= price``); it is written in the same transaction as the
ledger entries that justify it, so it always equals the sum of the ledger.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("consumer", "owner", "admin", "system")
HOLD_STATES = ("pending", "posted", "voided")


class Base(DeclarativeBase):
    pass


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="ck_accounts_role"),)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = _now()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: a short-lived key (the catalog's sign-in sessions) is refused from then on
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Balance(Base):
    __tablename__ = "balances"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    available: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (CheckConstraint("held >= 0", name="ck_balances_held"),)


class Hold(Base):
    """A two-phase transfer: pending, then posted or voided, each at most once."""

    __tablename__ = "holds"
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    model: Mapped[str] = mapped_column(String(128), index=True)
    route: Mapped[str] = mapped_column(String(32))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(8), default="pending", index=True)
    status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # SHA-256 of the token /v1/authorize answered: who holds it may settle (None: the gateway's)
    settle_key: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        CheckConstraint("amount >= 0", name="ck_holds_amount"),
        CheckConstraint(f"state IN {HOLD_STATES}", name="ck_holds_state"),
    )


class LedgerEntry(Base):
    """One leg of a transfer; the legs of a transfer sum to zero. Never updated or deleted."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transfer_id: Mapped[str] = mapped_column(String(80), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # + credit, - debit
    kind: Mapped[str] = mapped_column(String(16))  # topup | capture
    created_at: Mapped[datetime] = _now()
    __table_args__ = (UniqueConstraint("transfer_id", "account_id", name="uq_ledger_leg"),)


class Topup(Base):
    __tablename__ = "topups"
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (CheckConstraint("amount > 0", name="ck_topups_amount"),)


class Grant(Base):
    __tablename__ = "grants"
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    created_at: Mapped[datetime] = _now()


class IdempotentAnswer(Base):
    """A gateway answer stored under the client's ``Idempotency-Key`` (replayed for 24 h)."""

    __tablename__ = "idempotent_answers"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    request_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _now()
