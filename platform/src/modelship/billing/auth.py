"""Who is calling: ``Authorization: Bearer <key>`` -> the account, or 401."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from modelship.keys import authenticate


@dataclass(frozen=True)
class Caller:
    id: int
    name: str
    role: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(
            401, "authorization: send 'Bearer <key>'", headers={"WWW-Authenticate": "Bearer"}
        )
    return key.strip()


def caller_of(s, key: str) -> Caller:
    account = authenticate(s, key)
    if account is None:
        raise HTTPException(
            401, "authorization: unknown or revoked key", headers={"WWW-Authenticate": "Bearer"}
        )
    return Caller(account.id, account.name, account.role)


def current_caller(request: Request) -> Caller:
    """FastAPI dependency (sync: runs in the thread pool, beside the blocking DB call)."""
    key = bearer(request)
    with request.app.state.db() as s:
        return caller_of(s, key)


def require_admin(caller: Caller) -> None:
    if not caller.admin:
        raise HTTPException(403, "admin only")
