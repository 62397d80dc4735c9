"""The metered gateway: authenticate -> access -> hold -> proxy -> settle (exactly once).

Settling happens in ``finally`` and is shielded: a client that goes away cancels the request
task with ``asyncio.CancelledError`` (not an ``Exception``), and the hold is still released.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from modelship import ledger
from modelship.billing import idempotency
from modelship.billing.accounts_api import can_use
from modelship.billing.auth import bearer, caller_of, unauthorized
from modelship.billing.rows import BodyError, count_rows
from modelship.billing.upstream import Answer, UpstreamError, UpstreamTimeout
from modelship.db.models import Balance
from modelship.ledger_batches import LedgerBatches, takes
from modelship.money import format_amount
from modelship.transfer import apply

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
    app.state.callers.put(key, caller)
    app.state.owner_ids[model.terms.owner] = owner_id
    return caller, model, owner_id


def admit_from_memory(app, key: str, name: str):
    """``admit`` without the database when the key was verified lately and the model needs no
    grant; None when only the database can tell. Revocation is checked by the hold."""
    caller = app.state.callers.get(key)
    model = app.state.registry.get(name)
    if caller is None or model is None:
        return None
    owner = model.terms.owner
    if not (model.terms.visibility == "public" or caller.admin or owner == caller.name):
        return None
    owner_id = app.state.owner_ids.get(owner)
    return None if owner_id is None else (caller, model, owner_id)


async def admit_caller(app, key: str, name: str):
    """Caller, model and owner id of a call within its key's rate (else a 429)."""
    admitted = admit_from_memory(app, key, name) or await run_in_threadpool(admit, app, key, name)
    app.state.limiter.check(admitted[0].key_id)
    return admitted


def _available(app, hold: ledger.HoldRequest) -> int:
    """Why a hold was refused: :class:`ledger.KeyRevoked`, else the balance for the 402."""
    ledger.check_key(app.state.db, hold.key_id)
    with app.state.db() as s:
        return s.get(Balance, hold.account_id).available


def _hold_blocking(app, hold: ledger.HoldRequest, ttl_s: float) -> int | None:
    if apply(app.state.db, ledger.hold_step(hold, ttl_s)):
        return None
    return _available(app, hold)


def _batches_for(app, hold: ledger.HoldRequest) -> LedgerBatches | None:
    """Where a call's hold and settle go together (PostgreSQL), if the batches take it."""
    return app.state.batches if takes(hold) else None


async def _hold(app, hold: ledger.HoldRequest, ttl_s: float | None = None) -> int | None:
    """None when held, else the available balance (for the 402)."""
    batches, ttl_s = _batches_for(app, hold), ttl_s or app.state.settings.hold_ttl_s
    if batches is None:
        return await run_in_threadpool(_hold_blocking, app, hold, ttl_s)
    if await batches.hold(hold, ttl_s):
        return None
    return await run_in_threadpool(_available, app, hold)


def hold_request(
    caller, model, owner_id, route, rows, request_id, idempotency=None, settle_key=None
):
    amount = model.price_per_call + model.price_per_row * rows
    return ledger.HoldRequest(
        request_id,
        caller.id,
        owner_id,
        model.name,
        route,
        rows,
        amount,
        caller.key_id,
        idempotency,
        settle_key,
    )


async def reserve(app, hold: ledger.HoldRequest, ttl_s: float | None = None) -> JSONResponse | None:
    """Hold the price (for ``ttl_s``, default the settings' hold TTL); None when held, else the
    402 answer. Safe against cancellation."""
    holding = asyncio.ensure_future(_hold(app, hold, ttl_s))
    try:
        available = await asyncio.shield(holding)
    except asyncio.CancelledError:  # gone while holding: the hold may still commit
        with contextlib.suppress(Exception):
            if await holding is None:
                await settle(app, hold, None)
        raise
    except ledger.KeyRevoked:
        app.state.callers.forget(hold.key_id)
        raise unauthorized() from None
    if available is None:
        return None
    return JSONResponse(
        {
            "detail": "balance too low for this call",
            "price": format_amount(hold.amount),
            "available": format_amount(available),
        },
        status_code=402,
        headers={"X-Request-ID": hold.request_id},
    )


async def settle(
    app, hold: ledger.HoldRequest, status: int | None, answer: ledger.Answer | None = None
) -> None:
    """Capture on 2xx, release otherwise; shielded, so a cancelled call still settles."""
    rid, held = hold.request_id, (hold.account_id, hold.owner_id, hold.amount)
    if status is not None and 200 <= status < 300:
        share, platform = app.state.settings.owner_share, app.state.platform_id
        step = ledger.capture_step(rid, share, status, answer, held, platform)
    else:
        step = ledger.release_step(rid, status, held)
    batches = _batches_for(app, hold)
    job = run_in_threadpool(apply, app.state.db, step) if batches is None else batches.settle(step)
    await asyncio.shield(asyncio.ensure_future(job))


async def forward(app, model, route, body, content_type, request_id) -> Answer:
    """The model's answer, or a 504 (no answer in time) / 502 (unreachable)."""
    try:
        return await app.state.http.post(
            f"{model.url}{ROUTES[route]}",
            body,
            {"Content-Type": content_type, "X-Request-ID": request_id},
        )
    except UpstreamTimeout:
        raise HTTPException(504, f"model {model.name!r} did not answer in time") from None
    except UpstreamError as exc:
        raise HTTPException(502, f"model {model.name!r} unreachable: {exc}") from None


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or a 413 as soon as it is known to pass ``limit`` bytes: by its Content-Length
    before a byte is read, else while it arrives (chunked)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body: {declared} bytes; at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body: more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def metered(name: str, route: str, request: Request) -> Response:
    start = time.perf_counter()
    app = request.app
    key = bearer(request)
    caller, model, owner_id = await admit_caller(app, key, name)
    body = await read_body(request, app.state.settings.max_body_bytes)
    content_type = request.headers.get("content-type", "application/json")
    try:
        rows = count_rows(route, content_type, body)
    except BodyError as exc:
        raise HTTPException(400, str(exc)) from None
    claim = None
    if (idem_key := idempotency.key_of(request)) is not None:
        claim = (idem_key, idempotency.fingerprint(name, route, body))
        replay = await run_in_threadpool(idempotency.stored, app.state.db, caller.id, *claim)
        if replay is not None:
            return replay
    request_id = uuid.uuid4().hex
    hold = hold_request(caller, model, owner_id, route, rows, request_id, claim)
    try:
        refusal = await reserve(app, hold)
    except IntegrityError:  # with a key: a concurrent call claimed it first
        if claim is None:
            raise
        replay = await run_in_threadpool(idempotency.stored, app.state.db, caller.id, *claim)
        if replay is None:  # it failed and freed the key meanwhile: the client may retry
            raise HTTPException(409, "idempotency-key: a call with this key just ran") from None
        return replay
    if refusal is not None:
        return refusal
    answer: Answer | None = None
    status: int | None = None
    sent = time.perf_counter()
    try:
        answer = await forward(app, model, route, body, content_type, request_id)
        status = answer.status_code
    except HTTPException as exc:
        status = exc.status_code
        raise
    finally:  # also on CancelledError: a client that went away is released, never charged
        upstream_s = time.perf_counter() - sent
        stored = None
        if claim is not None and answer is not None:
            stored = ledger.Answer(status, answer.content_type, answer.content)
        await settle(app, hold, status, stored)
    charge = hold.amount if 200 <= status < 300 else 0
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
        media_type=answer.content_type,
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
