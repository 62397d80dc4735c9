"""The jobs API: ``/v1/jobs`` (submit, list, read, cancel, result), with the gateway's keys.

Each handler decodes the request, calls :mod:`modelship.scheduler.jobs`, and encodes the
answer; the errors of submission map to statuses in :func:`_refusal` (one table).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import time
from typing import Annotated

import pyarrow.csv
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from modelship.billing.auth import Caller, bearer, current_caller
from modelship.scheduler import claims, jobs
from modelship.scheduler.access import owned
from modelship.scheduler.billing_client import BillingRefused
from modelship.scheduler.errors import InputError
from modelship.scheduler.inputs import Input, file_format, parse, read_uri
from modelship.scheduler.models import ENDED, Job
from modelship.scheduler.validate import RowsRejected

router = APIRouter(prefix="/v1")
log = logging.getLogger("modelship.scheduler")
CallerDep = Annotated[Caller, Depends(current_caller)]
PARQUET = ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet")
_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+)(?:$|[,;\s])")


class UriJob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=128)
    input_uri: str = Field(min_length=1, max_length=8192)
    webhook_url: str | None = Field(default=None, max_length=2048)


def _refusal(exc: Exception) -> JSONResponse:
    if isinstance(exc, RowsRejected):
        body = {
            "detail": f"file: {exc.total} value(s) break the model's signature; nothing queued",
            "errors": exc.problems,
        }
        return JSONResponse(body, status_code=422)
    if isinstance(exc, BillingRefused):
        return JSONResponse(exc.body, status_code=exc.status)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


def _wait_s(request: Request) -> int:
    prefer = request.headers.get("prefer")
    if not prefer:
        return 0
    found = _WAIT.search(prefer.strip())
    if not found or not 0 <= int(found[1]) <= 60:
        raise HTTPException(400, "prefer: send wait=N with N from 0 to 60 seconds")
    return int(found[1])


async def _decode(request: Request) -> tuple[str, str, bytes | None, str | None, str | None]:
    """(model, source, file bytes or None, input URI or None, webhook URL) of a submission."""
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media == "multipart/form-data":
        form = await request.form()
        model, upload = form.get("model"), form.get("file")
        if not isinstance(model, str) or not model:
            raise InputError("model", "a form field with the model's name is required")
        if upload is None or isinstance(upload, str):
            raise InputError("file", "a file field with the rows is required")
        webhook = form.get("webhook_url")
        return (
            model,
            upload.filename or "upload",
            await upload.read(),
            upload.content_type,
            (webhook if isinstance(webhook, str) and webhook else None),
        )
    if media in ("application/json", ""):
        try:
            body = UriJob.model_validate_json(await request.body())
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            raise InputError(field, first["msg"]) from None
        return body.model, body.input_uri, None, None, body.webhook_url
    raise InputError("content-type", "send multipart/form-data (model, file) or JSON", 415)


def _read(ctx, source: str, data: bytes | None, media: str | None) -> Input:
    if data is None:
        return read_uri(source, ctx.settings)
    return parse(data, file_format(source, media))


def _load(ctx, job_id: str) -> Job:
    with ctx.db() as s:
        return s.get(Job, job_id)


async def _finished(ctx, job_id: str, wait_s: int) -> Job:
    """The job once it ended and settled, or as it is after ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    while True:
        job = await run_in_threadpool(_load, ctx, job_id)  # SQLite may wait for its lock
        if (job.status in ENDED and job.settled_at) or time.monotonic() >= deadline:
            return job
        await asyncio.sleep(0.1)


@router.post("/jobs", status_code=202)
async def submit_job(request: Request, caller: CallerDep) -> JSONResponse:
    ctx = request.app.state.ctx
    wait_s = _wait_s(request)
    try:
        model_name, source, data, media, webhook = await _decode(request)
        model = ctx.registry.get(model_name)
        if model is None:
            raise InputError("model", f"no model {model_name!r}", 404)
        digest = hashlib.sha256(f"{model_name}\0{webhook}\0".encode())
        digest.update(data if data is not None else source.encode())
        fingerprint = digest.hexdigest()
        idem = request.headers.get("idempotency-key")
        if idem is not None and not 1 <= len(idem) <= 255:
            raise InputError("idempotency-key", "1 to 255 characters")
        job = None
        if idem:
            job = await run_in_threadpool(jobs.existing, ctx.db, caller.id, idem, fingerprint)
        if job is None:
            parsed = await run_in_threadpool(_read, ctx, source, data, media)
            shown = source.split("?")[0] if data is None else source  # no query in the job row
            sub = jobs.Submission(
                caller.id,
                caller.name,
                model,
                parsed,
                shown,
                fingerprint,
                bearer(request),
                idem,
                webhook,
            )
            job, _created = await run_in_threadpool(jobs.submit, ctx, sub)
    except (InputError, RowsRejected, BillingRefused) as exc:
        return _refusal(exc)
    except OSError as exc:  # the results store (nothing held: submit released it)
        log.warning("results store unavailable: %s", type(exc).__name__)
        return JSONResponse({"detail": "results store unavailable; retry"}, status_code=503)
    if wait_s:
        job = await _finished(ctx, job.id, wait_s)
    finished = job.status in ENDED and job.settled_at is not None
    return JSONResponse(jobs.view(job, ctx.settings), status_code=200 if finished else 202)


def _own(request: Request, caller: Caller, job_id: str) -> Job:
    return owned(request, caller, Job, job_id, "job")


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, request: Request, caller: CallerDep) -> dict:
    ctx = request.app.state.ctx
    job = await run_in_threadpool(_own, request, caller, job_id)
    if wait_s := _wait_s(request):
        job = await _finished(ctx, job.id, wait_s)
    return jobs.view(job, ctx.settings)


@router.get("/jobs")
def list_jobs(
    request: Request,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    ctx = request.app.state.ctx
    mine = Job.account_id == caller.id
    with ctx.db() as s:
        found = s.scalars(
            select(Job).where(mine).order_by(Job.created_at.desc(), Job.id).limit(limit)
            .offset(offset)
        ).all()  # fmt: skip
        total = s.scalar(select(func.count()).select_from(Job).where(mine))
    items = [jobs.view(j, ctx.settings) for j in found]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, request: Request, caller: CallerDep) -> dict:
    job = _own(request, caller, job_id)
    ctx = request.app.state.ctx
    if not claims.cancel(ctx.db, job.id) and job.status in ENDED:
        raise HTTPException(409, f"job {job_id!r} already {job.status}")
    return jobs.view(_own(request, caller, job_id), ctx.settings)


@router.get("/jobs/{job_id}/result")
def job_result(job_id: str, request: Request, caller: CallerDep) -> Response:
    job = _own(request, caller, job_id)
    if job.status not in ENDED or job.settled_at is None:
        raise HTTPException(409, f"job {job_id!r} is {job.status}: no result yet")
    if job.deleted_at is not None:
        raise HTTPException(410, f"job {job_id!r}: its result was deleted after its retention")
    if not job.rows_done:
        raise HTTPException(404, f"job {job_id!r} delivered no rows")
    table = request.app.state.ctx.store.result(job.id)
    sink = io.BytesIO()
    if any(p in request.headers.get("accept", "") for p in PARQUET):
        pq.write_table(table, sink)
        return Response(sink.getvalue(), media_type=PARQUET[0])
    pyarrow.csv.write_csv(table, sink)
    return Response(sink.getvalue(), media_type="text/csv")
