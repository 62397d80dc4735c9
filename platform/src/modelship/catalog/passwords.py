"""Catalog passwords: argon2 hashes of billing's accounts (never the password, never logged)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelship.catalog.models import Password
from modelship.db.models import Account

_hasher = PasswordHasher()
MIN_LENGTH = 8


class PasswordError(ValueError):
    """A password too short to set."""


def set_password(s: Session, account_name: str, password: str) -> None:
    """Raises LookupError for an unknown account, PasswordError for a short password."""
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"password: at least {MIN_LENGTH} characters")
    account_id = s.scalar(select(Account.id).where(Account.name == account_name))
    if account_id is None:
        raise LookupError(account_name)
    row = s.get(Password, account_id) or Password(account_id=account_id)
    row.hash = _hasher.hash(password)
    row.updated_at = func.now()
    s.add(row)


def check_sign_in(s: Session, email: str, password: str) -> Account | None:
    """The account with this email (or name) and password, else None (same time either way)."""
    account = s.scalar(
        select(Account).where(
            (func.lower(Account.email) == email.strip().lower()) | (Account.name == email.strip())
        )
    )
    stored = s.get(Password, account.id) if account else None
    try:
        _hasher.verify(stored.hash if stored else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    return account if stored else None


_DUMMY = _hasher.hash("not a password of anyone")
