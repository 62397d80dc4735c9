"""``/v1/schedules``: the caller's recurring jobs (create, list, pause, resume, delete), and the
model cards' own retraining and batch schedules (their CronJobs) with their next times."""

from __future__ import annotations

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from modelship.billing.auth import Caller, current_caller
from modelship.rules import CRON_HELP, cron_problem
from modelship.scheduler.access import owned
from modelship.scheduler.models import Schedule
from modelship.scheduler.schedules import clock, following

router = APIRouter(prefix="/v1")
CallerDep = Annotated[Caller, Depends(current_caller)]


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=128)
    cron: str = Field(min_length=1, max_length=128)
    timezone: str = Field(default="UTC", max_length=64)
    input_uri: str = Field(min_length=1, max_length=8192)
    output_uri: str = Field(min_length=1, max_length=2048)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        value = " ".join(value.split())
        if problem := cron_problem(value):
            raise ValueError(f"{problem}; must be {CRON_HELP}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)") from None
        return value


def _view(sched: Schedule, request: Request) -> dict:
    at = clock(request.app.state.ctx.settings)
    return {
        "id": sched.id,
        "model": sched.model,
        "cron": sched.cron,
        "timezone": sched.timezone,
        "input_uri": sched.input_uri.split("?")[0] + ("?..." if "?" in sched.input_uri else ""),
        "output_uri": sched.output_uri,
        "paused": sched.paused,
        "last_run_for": sched.last_run_for.isoformat() if sched.last_run_for else None,
        "next": None if sched.paused else following(sched.cron, sched.timezone, at).isoformat(),
        "source": "api",
    }


@router.post("/schedules", status_code=201)
def create_schedule(body: ScheduleBody, request: Request, caller: CallerDep) -> dict:
    ctx = request.app.state.ctx
    if ctx.registry.get(body.model) is None:
        raise HTTPException(404, f"model: no model {body.model!r}")
    sched = Schedule(
        id=uuid.uuid4().hex, account_id=caller.id, paused=False, created_at=clock(ctx.settings),
        **body.model_dump(),
    )  # fmt: skip
    with ctx.db.begin() as s:
        s.add(sched)
    return _view(sched, request)


@router.get("/schedules")
def list_schedules(request: Request, caller: CallerDep) -> dict:
    ctx = request.app.state.ctx
    with ctx.db() as s:
        own = s.scalars(
            select(Schedule).where(Schedule.account_id == caller.id).order_by(Schedule.created_at)
        ).all()
    at = clock(ctx.settings)
    cards = []
    for model in sorted(ctx.registry.models.values(), key=lambda m: m.name):
        for kind in ("retrain", "batch"):
            cron = getattr(model.terms, f"{kind}_schedule")
            if cron:
                nxt = following(cron, "UTC", at).isoformat()
                cards.append({"model": model.name, "kind": kind, "cron": cron, "timezone": "UTC",
                              "next": nxt, "source": "model card"})  # fmt: skip
    return {"items": [_view(x, request) for x in own], "model_cards": cards}


def _own(request: Request, caller: Caller, schedule_id: str) -> Schedule:
    return owned(request, caller, Schedule, schedule_id, "schedule")


def _set_paused(request: Request, caller: Caller, schedule_id: str, paused: bool) -> dict:
    sched = _own(request, caller, schedule_id)
    with request.app.state.ctx.db.begin() as s:
        sched = s.get(Schedule, sched.id)
        sched.paused = paused
    return _view(sched, request)


@router.post("/schedules/{schedule_id}/pause")
def pause_schedule(schedule_id: str, request: Request, caller: CallerDep) -> dict:
    return _set_paused(request, caller, schedule_id, True)


@router.post("/schedules/{schedule_id}/resume")
def resume_schedule(schedule_id: str, request: Request, caller: CallerDep) -> dict:
    return _set_paused(request, caller, schedule_id, False)


@router.delete("/schedules/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: str, request: Request, caller: CallerDep) -> Response:
    sched = _own(request, caller, schedule_id)
    with request.app.state.ctx.db.begin() as s:
        s.delete(s.get(Schedule, sched.id))
    return Response(status_code=204)
