"""The metered gateway: authenticate -> access -> hold -> proxy -> settle (exactly once).

Settling happens in ``finally`` and is shielded: a client that goes away cancels the request
task with ``asyncio.CancelledError`` (not an ``Exception``), and the hold is still released.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelship import ledger
from modelship.billing.accounts_api import can_use
from modelship.billing.auth import bearer, caller_of
from modelship.billing.rows import BodyError, count_rows
from modelship.db.models import Balance
from modelship.money import format_amount

router = APIRouter(prefix="/v1/models")
ROUTES = {"predict": "/predict", "predict/batch": "/predict/batch", "invocations": "/invocations"}


def admit(app, key: str, name: str):
    """Caller, model access and the owner's account id, in one trip to the database."""
    with app.state.db.begin() as s:
        caller = caller_of(s, key)
        model = app.state.registry.get(name)
        if model is None or not can_use(s, caller, model):
            raise HTTPException(404, f"no model {name!r}")
        owner_id = ledger.ensure_account(s, model.terms.owner, "owner")
    return caller, model, owner_id


async def reserve(app, caller, model, owner_id, route, rows, request_id) -> JSONResponse | None:
    """Hold the price; None when held, else the 402 answer. Safe against cancellation."""
    amount = model.price_per_call + model.price_per_row * rows
    hold = ledger.HoldRequest(request_id, caller.id, owner_id, model.name, route, rows, amount)
    holding = asyncio.ensure_future(
        run_in_threadpool(ledger.hold, app.state.db, hold, app.state.settings.hold_ttl_s)
    )
    try:
        held = await asyncio.shield(holding)
    except asyncio.CancelledError:  # gone while holding: the hold may still commit
        if await holding:
            await _settle(app, request_id, None)
        raise
    if held:
        return None
    with app.state.db() as s:
        available = s.get(Balance, caller.id).available
    return JSONResponse(
        {
            "detail": "balance too low for this call",
            "price": format_amount(amount),
            "available": format_amount(available),
        },
        status_code=402,
        headers={"X-Request-ID": request_id},
    )


async def _settle(app, request_id: str, status: int | None) -> None:
    ok = status is not None and 200 <= status < 300
    if ok:
        job = run_in_threadpool(
            ledger.capture, app.state.db, request_id, app.state.settings.owner_share, status
        )
    else:
        job = run_in_threadpool(ledger.release, app.state.db, request_id, status)
    await asyncio.shield(asyncio.ensure_future(job))


async def metered(name: str, route: str, request: Request) -> Response:
    start = time.perf_counter()
    app = request.app
    key = bearer(request)
    caller, model, owner_id = await run_in_threadpool(admit, app, key, name)
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json")
    try:
        rows = count_rows(route, content_type, body)
    except BodyError as exc:
        raise HTTPException(400, str(exc)) from None
    amount = model.price_per_call + model.price_per_row * rows
    request_id = uuid.uuid4().hex
    refusal = await reserve(app, caller, model, owner_id, route, rows, request_id)
    if refusal is not None:
        return refusal
    status: int | None = None
    upstream_s = 0.0
    try:
        sent = time.perf_counter()
        try:
            answer = await app.state.http.post(
                f"{model.url}{ROUTES[route]}",
                content=body,
                headers={"content-type": content_type, "x-request-id": request_id},
            )
        except httpx.TimeoutException:
            status = 504
            raise HTTPException(504, f"model {name!r} did not answer in time") from None
        except httpx.HTTPError as exc:
            status = 502
            raise HTTPException(502, f"model {name!r} unreachable: {type(exc).__name__}") from None
        upstream_s = time.perf_counter() - sent
        status = answer.status_code
    finally:
        await _settle(app, request_id, status)
    charge = amount if 200 <= status < 300 else 0
    overhead_ms = (time.perf_counter() - start - upstream_s) * 1000
    headers = {
        "X-Request-ID": request_id,
        "X-Modelship-Charge": format_amount(charge),
        "X-Modelship-Overhead-Ms": f"{overhead_ms:.3f}",
    }
    return Response(
        answer.content,
        status_code=status,
        headers=headers,
        media_type=answer.headers.get("content-type"),
    )


@router.post("/{name}/predict")
async def predict(name: str, request: Request) -> Response:
    return await metered(name, "predict", request)


@router.post("/{name}/predict/batch")
async def predict_batch(name: str, request: Request) -> Response:
    return await metered(name, "predict/batch", request)


@router.post("/{name}/invocations")
async def invocations(name: str, request: Request) -> Response:
    return await metered(name, "invocations", request)
