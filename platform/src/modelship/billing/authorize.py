"""``POST /v1/authorize`` and ``POST /v1/settle``: the gateway's hold and settle, for a proxy of
one's own (e.g. Envoy Gateway with ``ext_authz``): authorize before forwarding, settle after.

``authorize`` answers ``{"request_id", "amount"}`` (or 402/404/401 like the gateway); ``settle``
with the model's status captures on 2xx and releases otherwise, once per request id.
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from modelship import ledger
from modelship.billing.auth import bearer, current_caller
from modelship.billing.gateway import admit_caller, hold_request, reserve
from modelship.db.models import Hold
from modelship.money import format_amount

router = APIRouter(prefix="/v1")


class AuthorizeBody(BaseModel):
    model: str = Field(min_length=1, max_length=128)
    route: Literal["predict", "predict/batch", "invocations"] = "predict"
    rows: int = Field(default=1, ge=0, le=10_000_000)


class SettleBody(BaseModel):
    request_id: str = Field(min_length=1, max_length=64)
    status: int = Field(ge=100, le=599)


@router.post("/authorize")
async def authorize(body: AuthorizeBody, request: Request) -> JSONResponse:
    app = request.app
    caller, model, owner_id = await admit_caller(app, bearer(request), body.model)
    request_id = uuid.uuid4().hex
    hold = hold_request(caller, model, owner_id, body.route, body.rows, request_id)
    refusal = await reserve(app, hold)
    if refusal is not None:
        return refusal
    return JSONResponse(
        {"request_id": request_id, "amount": format_amount(hold.amount)},
        headers={"X-Request-ID": request_id},
    )


def _settle(request: Request, body: SettleBody) -> dict:
    caller = current_caller(request)
    app = request.app
    with app.state.db() as s:
        hold = s.get(Hold, body.request_id)
        if hold is None or (not caller.admin and hold.account_id != caller.id):
            raise HTTPException(404, f"request_id: no hold {body.request_id!r}")
    if 200 <= body.status < 300:
        done = ledger.capture(
            app.state.db, body.request_id, app.state.settings.owner_share, body.status
        )
        outcome = "captured"
    else:
        done = ledger.release(app.state.db, body.request_id, body.status)
        outcome = "released"
    with app.state.db() as s:
        state = s.get(Hold, body.request_id).state
    return {
        "request_id": body.request_id,
        "settled": outcome if done else "already",
        "state": state,
    }


@router.post("/settle")
async def settle(body: SettleBody, request: Request) -> dict:
    return await run_in_threadpool(_settle, request, body)
