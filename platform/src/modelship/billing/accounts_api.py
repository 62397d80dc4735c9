"""Accounts, keys, top-ups, grants, ``/v1/me`` and ``/v1/models``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import delete, select

from modelship import ledger
from modelship.billing.auth import Caller, current_caller, require_admin
from modelship.db.models import Account, ApiKey, Balance, Grant
from modelship.keys import create_key, expired
from modelship.money import format_amount, parse_amount

router = APIRouter(prefix="/v1")
Auth = Annotated[Caller, Depends(current_caller)]
NAME = r"^[a-z0-9][a-z0-9._-]{0,127}$"


class NewAccount(BaseModel):
    name: str = Field(pattern=NAME)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Literal["consumer", "owner", "admin"]


class TopupBody(BaseModel):
    amount: str

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: str) -> str:
        if parse_amount(value) <= 0:
            raise ValueError("must be more than 0")
        return value


class NewKey(BaseModel):
    ttl_s: int | None = Field(
        default=None, ge=60, le=86_400, description="a short-lived key: refused after this"
    )


class GrantBody(BaseModel):
    account: str = Field(pattern=NAME)


def _account_id(s, name: str) -> int:
    found = s.scalar(select(Account.id).where(Account.name == name))
    if found is None:
        raise HTTPException(404, f"no account {name!r}")
    return found


@router.post("/accounts", status_code=201)
def create_account(body: NewAccount, caller: Auth, request: Request) -> dict:
    require_admin(caller)
    with request.app.state.db.begin() as s:
        if s.scalar(select(Account.id).where(Account.name == body.name)) is not None:
            raise HTTPException(409, f"account {body.name!r} exists")
        ledger.ensure_account(s, body.name, body.role, body.email)
    return body.model_dump()


@router.post("/accounts/{name}/keys", status_code=201)
def new_key(name: str, caller: Auth, request: Request, body: NewKey | None = None) -> dict:
    if not caller.admin and caller.name != name:
        raise HTTPException(403, "an account makes its own keys (or an admin does)")
    ttl_s = body.ttl_s if body else None
    expires_at = ledger.now() + timedelta(seconds=ttl_s) if ttl_s else None
    with request.app.state.db.begin() as s:
        key, prefix = create_key(s, _account_id(s, name), expires_at)
    return {
        "key": key,
        "prefix": prefix,
        "expires_at": expires_at.isoformat() if expires_at else None,
    }


@router.get("/accounts/{name}/keys")
def list_keys(name: str, caller: Auth, request: Request) -> list[dict]:
    """The account's live keys (prefix and dates; never the key)."""
    if not caller.admin and caller.name != name:
        raise HTTPException(403, "an account lists its own keys (or an admin does)")
    with request.app.state.db() as s:
        found = s.scalars(
            select(ApiKey)
            .where(ApiKey.account_id == _account_id(s, name), ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at, ApiKey.id)
        )
        return [
            {
                "prefix": k.prefix,
                "created_at": k.created_at.isoformat(),
                "expires_at": k.expires_at.isoformat() if k.expires_at else None,
            }
            for k in found
            if not expired(k.expires_at)
        ]


@router.delete("/keys/{prefix}", status_code=204)
def revoke_key(prefix: str, caller: Auth, request: Request) -> Response:
    with request.app.state.db.begin() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if row is None or (not caller.admin and row.account_id != caller.id):
            raise HTTPException(404, f"no key {prefix!r}")
        row.revoked_at = ledger.now()
    return Response(status_code=204)


@router.post("/accounts/{name}/topups", status_code=201)
def topup(
    name: str,
    body: TopupBody,
    caller: Auth,
    request: Request,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=255)],
) -> dict:
    require_admin(caller)
    amount = parse_amount(body.amount)
    try:
        ledger.topup(request.app.state.db, name, amount, idempotency_key)
    except LookupError:
        raise HTTPException(404, f"no account {name!r}") from None
    except ledger.Conflict:
        raise HTTPException(409, "idempotency-key: already used for another top-up") from None
    return {"account": name, "amount": format_amount(amount)}


@router.post("/models/{name}/grants", status_code=201)
def grant(name: str, body: GrantBody, caller: Auth, request: Request) -> dict:
    model = request.app.state.registry.get(name)
    if model is None or not (caller.admin or model.terms.owner == caller.name):
        raise HTTPException(404, f"no model {name!r}")
    with request.app.state.db.begin() as s:
        account_id = _account_id(s, body.account)
        s.execute(delete(Grant).where(Grant.model == name, Grant.account_id == account_id))
        s.add(Grant(model=name, account_id=account_id))
    return {"model": name, "account": body.account}


@router.get("/me")
def me(caller: Auth, request: Request) -> dict:
    with request.app.state.db() as s:
        b = s.get(Balance, caller.id)
    return {
        "name": caller.name,
        "role": caller.role,
        "balance": format_amount(b.available),
        "held": format_amount(b.held),
    }


def can_use(s, caller: Caller, model) -> bool:
    """Public, or private and the caller is its owner, an admin, or holds a grant."""
    if model.terms.visibility == "public" or caller.admin or model.terms.owner == caller.name:
        return True
    return s.get(Grant, (model.name, caller.id)) is not None


@router.get("/models")
def models(caller: Auth, request: Request) -> list[dict]:
    with request.app.state.db() as s:
        visible = [m for m in request.app.state.registry.models.values() if can_use(s, caller, m)]
    return [
        {
            "name": m.name,
            "owner": m.terms.owner,
            "visibility": m.terms.visibility,
            "price_per_call": format_amount(m.price_per_call),
            "price_per_row": format_amount(m.price_per_row),
            "ready": m.ready,
        }
        for m in visible
    ]


@router.get("/admin/ledger")
def books(caller: Auth, request: Request) -> dict:
    require_admin(caller)
    with request.app.state.db() as s:
        result = ledger.books(s)
    return {k: (format_amount(v) if k in ("debits", "credits") else v) for k, v in result.items()}
