"""Who is calling: ``Authorization: Bearer <key>`` -> the account, or 401.

The gateway remembers verified keys for a few seconds (:class:`CallerCache`) so its hot path
skips the key lookup; a revoked key is still refused on its very next call, because the hold
checks the key in its own transaction.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request

from modelship.keys import verify


@dataclass(frozen=True)
class Caller:
    id: int
    name: str
    role: str
    key_id: int | None = None

    @property
    def admin(self) -> bool:
        return self.role == "admin"


class CallerCache:
    """Verified keys -> callers, by the SHA-256 of the whole key, each for ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float = 30.0, size: int = 100_000):
        self._ttl, self._size = ttl_s, size
        self._callers: dict[bytes, tuple[float, Caller]] = {}

    @staticmethod
    def _digest(key: str) -> bytes:
        return hashlib.sha256(key.encode()).digest()

    def get(self, key: str) -> Caller | None:
        found = self._callers.get(self._digest(key))
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: str, caller: Caller) -> None:
        if len(self._callers) >= self._size:
            self._callers.clear()  # a flood of distinct keys: start over rather than grow
        self._callers[self._digest(key)] = (time.monotonic() + self._ttl, caller)

    def forget(self, key_id: int) -> None:
        self._callers = {d: e for d, e in self._callers.items() if e[1].key_id != key_id}


def unauthorized(detail: str = "authorization: unknown or revoked key") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise unauthorized("authorization: send 'Bearer <key>'")
    return key.strip()


def caller_of(s, key: str) -> Caller:
    found = verify(s, key)
    if found is None:
        raise unauthorized()
    account, key_id = found
    return Caller(account.id, account.name, account.role, key_id)


def current_caller(request: Request) -> Caller:
    """FastAPI dependency (sync: runs in the thread pool, beside the blocking DB call)."""
    key = bearer(request)
    with request.app.state.db() as s:
        return caller_of(s, key)


def require_admin(caller: Caller) -> None:
    if not caller.admin:
        raise HTTPException(403, "admin only")
