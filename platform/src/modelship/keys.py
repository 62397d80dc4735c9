"""API keys: ``ms_<prefix>_<secret>``; only the visible prefix and a salted hash are stored.

The secret is 32 random bytes, so a salted SHA-256 is as strong as a slow hash here and keeps
authentication well under a millisecond on the gateway's hot path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelship.db.models import Account, ApiKey


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def create_key(s: Session, account_id: int, expires_at: datetime | None = None) -> tuple[str, str]:
    """A new key for the account: (key, prefix). The key is shown once and never stored;
    with ``expires_at`` it is refused from then on (the catalog's sign-in sessions)."""
    prefix, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(8)
    digest = f"{salt}${_digest(salt, secret)}"
    s.add(ApiKey(account_id=account_id, prefix=prefix, hash=digest, expires_at=expires_at))
    s.flush()
    return f"ms_{prefix}_{secret}", prefix


def verify(s: Session, key: str) -> tuple[Account, int] | None:
    """The account and key id of a valid, unrevoked, unexpired key, else None."""
    tag, prefix, secret = (key.split("_", 2) + ["", ""])[:3]
    if tag != "ms" or not secret:
        prefix, secret = BOOTSTRAP_PREFIX, key  # the admin key of the settings
    row = s.execute(
        select(ApiKey, Account)
        .join(Account, Account.id == ApiKey.account_id)
        .where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    api_key, account = row
    if expired(api_key.expires_at):
        return None
    salt, digest = api_key.hash.split("$", 1)
    return (account, api_key.id) if hmac.compare_digest(digest, _digest(salt, secret)) else None


def expired(at: datetime | None) -> bool:
    """A key's expiry has passed (SQLite hands back naive UTC datetimes)."""
    if at is None:
        return False
    return (at if at.tzinfo else at.replace(tzinfo=UTC)) <= datetime.now(UTC)


def authenticate(s: Session, key: str) -> Account | None:
    """The account of a valid, unrevoked key, else None."""
    found = verify(s, key)
    return found[0] if found else None


BOOTSTRAP_PREFIX = "bootstrap"


def install_bootstrap_key(s: Session, account_id: int, key: str) -> None:
    """Store the admin key of the settings (hashed) under a fixed prefix; replaces an old one."""
    salt = secrets.token_hex(8)
    row = s.scalar(select(ApiKey).where(ApiKey.prefix == BOOTSTRAP_PREFIX))
    if row is None:
        row = ApiKey(account_id=account_id, prefix=BOOTSTRAP_PREFIX)
        s.add(row)
    row.hash, row.revoked_at = f"{salt}${_digest(salt, key)}", None
    s.flush()
