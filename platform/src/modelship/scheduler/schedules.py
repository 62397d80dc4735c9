"""Recurring schedules: one job per occurrence, under a unique run key (schedule, time).

Every scheduler process ticks; each submits the latest occurrence that has no job yet. The
``(schedule_id, scheduled_for)`` unique key lets one insert win: the other process releases
its hold and drops its copy, so two replicas never run an occurrence twice, and a process that
died before its insert leaves the occurrence for the next tick (no occurrence is skipped by a
crash). After downtime only the latest missed occurrence runs, once; the log says how many
were skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from httpx import HTTPError
from sqlalchemy import select, update

from modelship.db.models import Account
from modelship.scheduler import jobs
from modelship.scheduler.billing_client import BillingRefused
from modelship.scheduler.errors import InputError
from modelship.scheduler.inputs import read_uri
from modelship.scheduler.models import Job, Schedule
from modelship.scheduler.validate import RowsRejected
from modelship.settings import Settings

log = logging.getLogger("modelship.scheduler")


def clock(settings: Settings) -> datetime:
    """Now; in tests a clock that starts at ``clock_origin`` and runs ``clock_speed`` fast."""
    if settings.clock_origin is None:
        return datetime.now(UTC)
    origin = settings.clock_origin
    if origin.tzinfo is None:
        origin = origin.replace(tzinfo=UTC)
    return origin + timedelta(seconds=(time.time() - settings.clock_anchor) * settings.clock_speed)


def latest(cron: str, zone: str, at: datetime) -> datetime:
    """The latest occurrence at or before ``at`` (UTC)."""
    local = at.astimezone(ZoneInfo(zone)) + timedelta(microseconds=1)
    return croniter(cron, local).get_prev(datetime).astimezone(UTC)


def following(cron: str, zone: str, at: datetime) -> datetime:
    return croniter(cron, at.astimezone(ZoneInfo(zone))).get_next(datetime).astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def missed_between(cron: str, zone: str, after: datetime, until: datetime) -> int:
    """Occurrences strictly between ``after`` and ``until`` (bounded count)."""
    count, it = 0, croniter(cron, after.astimezone(ZoneInfo(zone)))
    while count < 10_000 and it.get_next(datetime).astimezone(UTC) < until:
        count += 1
    return count


def tick(ctx: jobs.Context, stopping: threading.Event | None = None) -> list[str]:
    """Submit each active schedule's due occurrence; answers the jobs created here. Once
    ``stopping`` is set, no further occurrence is started (the one under way ends)."""
    at = clock(ctx.settings)
    created = []
    with ctx.db() as s:
        active = s.scalars(select(Schedule).where(Schedule.paused.is_(False))).all()
    for sched in active:
        if stopping is not None and stopping.is_set():
            break
        since = _aware(sched.last_run_for or sched.created_at)
        due = latest(sched.cron, sched.timezone, at)
        if due <= since and sched.last_run_for is not None:
            continue
        if due < _aware(sched.created_at):
            continue
        with ctx.db() as s:
            if s.scalar(
                select(Job.id).where(Job.schedule_id == sched.id, Job.scheduled_for == due)
            ):
                continue
        if sched.last_run_for is not None:
            skipped = missed_between(sched.cron, sched.timezone, since, due)
            if skipped:
                log.warning("schedule %s: %d occurrence(s) missed while no scheduler ran; "
                            "running the latest (%s) once", sched.id, skipped, due.isoformat())  # fmt: skip
        job_id = run_occurrence(ctx, sched, due)
        if job_id:
            created.append(job_id)
    return created


def run_occurrence(ctx: jobs.Context, sched: Schedule, due: datetime) -> str | None:
    try:
        model = ctx.registry.get(sched.model)
        if model is None:
            raise LookupError(f"model {sched.model!r} is not served")
        with ctx.db() as s:
            account = s.scalar(select(Account.name).where(Account.id == sched.account_id))
        data = read_uri(sched.input_uri, ctx.settings)
        sub = jobs.Submission(
            sched.account_id, account, model, data, sched.input_uri.split("?")[0],
            hashlib.sha256(f"{sched.id}:{due.isoformat()}".encode()).hexdigest(), output_uri=sched.output_uri,
            schedule_id=sched.id, scheduled_for=due,
        )  # fmt: skip
        job, created = jobs.submit(ctx, sub)
    except (InputError, RowsRejected, BillingRefused, LookupError, OSError, HTTPError) as exc:
        # the occurrence is recorded as tried; the next one runs anew
        log.warning("schedule %s at %s not run: %s", sched.id, due.isoformat(), exc)
        job, created = None, False
    with ctx.db.begin() as s:
        s.execute(
            update(Schedule)
            .where(Schedule.id == sched.id)
            .where((Schedule.last_run_for.is_(None)) | (Schedule.last_run_for < due))
            .values(last_run_for=due)
        )
    if created:
        log.info("schedule %s: job %s for %s", sched.id, job.id, due.isoformat())
        return job.id
    return None


async def tick_forever(ctx: jobs.Context) -> None:
    """Tick every ``SCHEDULE_TICK_S``. Cancelled (the process stops), it lets the occurrence under
    way end before it returns: cut between billing's hold and the job's insert, that thread
    would die with the process and leave a hold nobody settles until it expires."""
    stopping = threading.Event()
    while True:
        ticking = asyncio.ensure_future(asyncio.to_thread(tick, ctx, stopping))
        try:
            await asyncio.shield(ticking)
        except asyncio.CancelledError:
            stopping.set()
            with contextlib.suppress(Exception):
                await ticking
            raise
        except Exception:
            log.exception("schedule tick failed")
        await asyncio.sleep(ctx.settings.schedule_tick_s)
