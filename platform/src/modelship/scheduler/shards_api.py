"""``POST /v1/shards`` (admin): the Indexed Job that scores a big input with the model's own
image, ``rows`` split in shards of at most ``SHARD_ROWS``; created in the model's namespace when
the scheduler runs in a cluster (``DISCOVERY=kubernetes``), else only rendered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from modelship.billing.auth import Caller, current_caller, require_admin
from modelship.scheduler import indexed_job

router = APIRouter(prefix="/v1")


class ShardsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=128)
    input_uri: str = Field(min_length=1, max_length=2048, description="the input partitions")
    output_uri: str = Field(min_length=1, max_length=2048)
    scheduled_time: datetime
    rows: int = Field(ge=1, description="the input's rows: how many shards")


@router.post("/shards")
async def render_shards(
    body: ShardsBody, request: Request, caller: Annotated[Caller, Depends(current_caller)]
) -> dict:
    require_admin(caller)
    ctx = request.app.state.ctx
    model = ctx.registry.get(body.model)
    if model is None:
        raise HTTPException(404, f"model: no model {body.model!r}")
    shards = indexed_job.shard_count(body.rows, ctx.settings)
    job = indexed_job.render_indexed_job(
        model.card, body.input_uri, body.output_uri, body.scheduled_time, shards, ctx.settings
    )
    created = None
    if ctx.settings.discovery == "kubernetes":
        created = await run_in_threadpool(indexed_job.create, job)
    return {"shards": shards, "created": created, "job": job}
