"""``POST /v1/authorize`` and ``POST /v1/settle``: the gateway's hold and settle, for a proxy of
one's own (e.g. Envoy Gateway with ``ext_authz``): authorize before forwarding, settle after.

``authorize`` answers ``{"request_id", "amount", "settle_token"}`` (or 402/404/401 like the
gateway); ``settle`` with the model's status captures on 2xx and releases otherwise, once per
request id. Only who holds the hold's ``settle_token`` (the proxy that authorized the call; only
its SHA-256 is stored) or an admin may settle it: the request id is no secret (the answer's
``X-Request-ID``), and a consumer who could settle with its own key would release the hold of a
call it was served before the proxy captured it, and never pay. The gateway's own holds are
settled by the gateway (or an admin) only.

For the scheduler (an admin key): ``authorize`` may hold for another ``account`` (a recurring
schedule runs with nobody's key at hand) and for a longer ``ttl_s`` (a job waits in a queue);
``settle`` may capture only part of the hold (``amount`` and ``rows`` delivered), the rest is
released in the same step.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from modelship import ledger
from modelship.billing.accounts_api import can_use
from modelship.billing.auth import Caller, bearer, current_caller
from modelship.billing.gateway import admit_caller, hold_request, reserve
from modelship.db.models import Account, Hold
from modelship.money import AmountError, format_amount, parse_amount

router = APIRouter(prefix="/v1")


class AuthorizeBody(BaseModel):
    model: str = Field(min_length=1, max_length=128)
    route: Literal["predict", "predict/batch", "invocations", "jobs"] = "predict"
    rows: int = Field(default=1, ge=0, le=10_000_000)
    account: str | None = Field(default=None, max_length=128, description="admin only")
    ttl_s: float | None = Field(default=None, gt=0, le=30 * 86400)


class SettleBody(BaseModel):
    request_id: str = Field(min_length=1, max_length=64)
    status: int = Field(ge=100, le=599)
    amount: str | None = Field(default=None, description="admin only: capture this much")
    rows: int | None = Field(default=None, ge=0, description="admin only: the rows delivered")
    settle_token: str | None = Field(
        default=None, max_length=128, description="what /v1/authorize answered (admins need none)"
    )


def _on_behalf(app, admin: Caller, account: str, name: str):
    """An admin holding for ``account``: that account's access to the model, as its own key."""
    if not admin.admin:
        raise HTTPException(403, "account: only an admin authorizes for another account")
    with app.state.db.begin() as s:
        found = s.scalar(select(Account).where(Account.name == account))
        if found is None:
            raise HTTPException(404, f"account: no account {account!r}")
        caller = Caller(found.id, found.name, found.role)
        model = app.state.registry.get(name)
        if model is None or not can_use(s, caller, model):
            raise HTTPException(404, f"no model {name!r}")
        return caller, model, ledger.ensure_account(s, model.terms.owner, "owner")


@router.post("/authorize")
async def authorize(body: AuthorizeBody, request: Request) -> JSONResponse:
    app = request.app
    caller, model, owner_id = await admit_caller(app, bearer(request), body.model)
    if body.account is not None:
        caller, model, owner_id = await run_in_threadpool(
            _on_behalf, app, caller, body.account, body.model
        )
    request_id, token = uuid.uuid4().hex, secrets.token_urlsafe(32)
    hold = hold_request(
        caller, model, owner_id, body.route, body.rows, request_id, settle_key=_digest(token)
    )
    refusal = await reserve(app, hold, body.ttl_s)
    if refusal is not None:
        return refusal
    return JSONResponse(
        {"request_id": request_id, "amount": format_amount(hold.amount), "settle_token": token},
        headers={"X-Request-ID": request_id},
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _may_settle(caller: Caller, hold: Hold, token: str | None) -> bool:
    if caller.admin:
        return True
    if hold.settle_key is None or token is None:
        return False
    return hmac.compare_digest(hold.settle_key, _digest(token))


def _part(caller: Caller, body: SettleBody) -> tuple[int, int] | None:
    if body.amount is None and body.rows is None:
        return None
    if not caller.admin:
        raise HTTPException(403, "amount, rows: only an admin captures part of a hold")
    if body.amount is None or body.rows is None:
        raise HTTPException(422, "amount, rows: a partial capture gives both")
    try:
        return parse_amount(body.amount), body.rows
    except AmountError as exc:
        raise HTTPException(422, f"amount: {exc}") from None


def _settle(request: Request, body: SettleBody) -> dict:
    caller = current_caller(request)
    part = _part(caller, body)
    app = request.app
    with app.state.db() as s:
        hold = s.get(Hold, body.request_id)
        if hold is None or (not caller.admin and hold.account_id != caller.id):
            raise HTTPException(404, f"request_id: no hold {body.request_id!r}")
        if not _may_settle(caller, hold, body.settle_token):
            raise HTTPException(
                403, "settle_token: send the one /v1/authorize answered for this request id"
            )
    if 200 <= body.status < 300:
        share = app.state.settings.owner_share
        done = ledger.capture(app.state.db, body.request_id, share, body.status, part=part)
        outcome = "captured"
    else:
        done = ledger.release(app.state.db, body.request_id, body.status)
        outcome = "released"
    with app.state.db() as s:
        hold = s.get(Hold, body.request_id)
    return {
        "request_id": body.request_id,
        "settled": outcome if done else "already",
        "state": hold.state,
        "charge": format_amount(hold.amount if hold.state == "posted" else 0),
    }


@router.post("/settle")
async def settle(body: SettleBody, request: Request) -> dict:
    return await run_in_threadpool(_settle, request, body)
