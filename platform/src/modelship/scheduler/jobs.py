"""Jobs: submission (hold, store the input, queue) and the end (result, settle, notify).

The pieces every process of the scheduler shares are one :class:`Context`: settings, the
database, the model registry and the result store.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from modelship.db.models import Account
from modelship.money import format_amount
from modelship.registry import Model, Registry
from modelship.scheduler import billing_client, claims, notify
from modelship.scheduler.errors import InputError
from modelship.scheduler.inputs import Input
from modelship.scheduler.models import Job
from modelship.scheduler.store import ResultStore, filesystem, write_table
from modelship.scheduler.validate import conform
from modelship.settings import Settings

log = logging.getLogger("modelship.scheduler")


@dataclass
class Context:
    settings: Settings
    db: sessionmaker[Session]
    registry: Registry
    store: ResultStore


def _time(value) -> str | None:
    """ISO 8601 in UTC (SQLite gives the stored times back without their zone)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def view(job: Job, settings: Settings) -> dict:
    return {
        "id": job.id,
        "model": job.model,
        "status": job.status,
        "rows": job.rows,
        "rows_done": job.rows_done,
        "charge": format_amount(job.charge) if job.charge is not None else None,
        "held": format_amount(job.held),
        "error": job.error,
        "source": job.source,
        "created_at": _time(job.created_at),
        "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
        "settled_at": _time(job.settled_at),
        "expires_at": _time(job.expires_at),
        "scheduled_for": _time(job.scheduled_for),
        "result_url": f"{settings.public_url}/v1/jobs/{job.id}/result",
    }


def chunk_rows(model: Model, settings: Settings) -> int:
    """At most the model's own row limit per call (its ``/info``), else the settings'."""
    limit = (model.info.get("limits") or {}).get("max_request_rows")
    if isinstance(limit, int) and limit > 0:
        return min(limit, settings.job_chunk_rows)
    return settings.job_chunk_rows


def existing(db: sessionmaker[Session], account_id: int, key: str, fingerprint: str) -> Job | None:
    """The job an Idempotency-Key already made; a 422 when it was made for another request."""
    with db() as s:
        job = s.scalar(select(Job).where(Job.account_id == account_id, Job.idempotency_key == key))
    if job is not None and job.fingerprint != fingerprint:
        raise InputError("idempotency-key", "already used for another job", 409)
    return job


@dataclass(frozen=True)
class Submission:
    account_id: int
    account: str
    model: Model
    data: Input
    source: str
    fingerprint: str
    key: str | None = None  # the caller's API key (None: a schedule's run, held by the admin)
    idempotency_key: str | None = None
    webhook_url: str | None = None
    output_uri: str | None = None
    schedule_id: str | None = None
    scheduled_for: object = None


def submit(ctx: Context, sub: Submission) -> tuple[Job, bool]:
    """Validate, hold, store and queue; answers (job, created). Raises InputError,
    RowsRejected or BillingRefused with nothing held or queued."""
    table = conform(sub.data, sub.model.info)
    if table.num_rows > ctx.settings.job_max_rows:
        raise InputError("file", f"{table.num_rows} rows; at most {ctx.settings.job_max_rows}", 413)
    if sub.webhook_url:
        problem = notify.webhook_problem(sub.webhook_url, ctx.settings.webhook_private_ok)
        if problem:
            raise InputError("webhook_url", problem, 422)
    held = billing_client.authorize(
        ctx.settings, sub.key, sub.model.name, table.num_rows, None if sub.key else sub.account
    )
    job_id = uuid.uuid4().hex
    rows_per_chunk = chunk_rows(sub.model, ctx.settings)
    try:
        ctx.store.put_input(job_id, table, rows_per_chunk)
        job = Job(
            id=job_id,
            account_id=sub.account_id,
            model=sub.model.name,
            status="queued",
            source=sub.source,
            rows=table.num_rows,
            rows_done=0,
            chunk_rows=rows_per_chunk,
            hold_id=held.request_id,
            held=held.amount,
            price_per_call=sub.model.price_per_call,
            price_per_row=sub.model.price_per_row,
            idempotency_key=sub.idempotency_key,
            fingerprint=sub.fingerprint,
            webhook_url=sub.webhook_url,
            output_uri=sub.output_uri,
            schedule_id=sub.schedule_id,
            scheduled_for=sub.scheduled_for,
            attempts=0,
        )
        with ctx.db.begin() as s:
            s.add(job)
        return job, True
    except IntegrityError:  # a concurrent retry with the same key, or a schedule's run key
        billing_client.settle(ctx.settings, held.request_id, 0, 0)
        ctx.store.delete(job_id)
        with ctx.db() as s:
            if sub.idempotency_key is not None:
                found = existing(ctx.db, sub.account_id, sub.idempotency_key, sub.fingerprint)
            else:
                found = s.scalar(
                    select(Job).where(
                        Job.schedule_id == sub.schedule_id, Job.scheduled_for == sub.scheduled_for
                    )
                )
        return found, False
    except BaseException:
        billing_client.settle(ctx.settings, held.request_id, 0, 0)
        ctx.store.delete(job_id)
        raise


def chunk_count(job: Job) -> int:
    return math.ceil(job.rows / job.chunk_rows)


def _write_output(ctx: Context, job: Job, table) -> None:
    """A schedule's run: the result also at ``<output>/scheduled_time=...``, replaced on rerun."""
    fs, path = filesystem(job.output_uri, ctx.settings)
    partition = f"scheduled_time={job.scheduled_for:%Y%m%dT%H%M}"
    write_table(fs, f"{path.rstrip('/')}/{partition}/predictions.parquet", table)


def finalize(ctx: Context, job_id: str, worker: str) -> None:
    """An ended job: assemble its result, settle its rows once, tell its owner."""
    with ctx.db() as s:
        job = s.get(Job, job_id)
        email = s.scalar(select(Account.email).where(Account.id == job.account_id))
    done = claims.done_chunks(ctx.db, job_id)
    if done:
        table = ctx.store.assemble(job_id, done)
        if job.output_uri and job.scheduled_for and job.status == "succeeded":
            _write_output(ctx, job, table)
    delivered = job.rows_done
    amount = job.price_per_call + job.price_per_row * delivered if delivered else 0
    charge = billing_client.settle(ctx.settings, job.hold_id, delivered, amount)
    at = claims.now()
    with ctx.db.begin() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                charge=charge,
                settled_at=at,
                expires_at=at + timedelta(seconds=ctx.settings.results_retention_s),
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        job = s.get(Job, job_id)
    log.info("job %s %s: %d of %d rows, charge %s", job_id, job.status, delivered, job.rows,
             format_amount(charge))  # fmt: skip
    body = view(job, ctx.settings)
    notify.send_email(ctx.settings, email or "", body)
    if job.webhook_url:
        notify.call_webhook(ctx.settings, job.webhook_url, body)
    with ctx.db.begin() as s:
        s.execute(update(Job).where(Job.id == job_id).values(notified_at=claims.now()))


def expire(ctx: Context) -> int:
    """Delete the results kept past their retention; answers how many."""
    at = claims.now()
    with ctx.db() as s:
        old = list(
            s.scalars(
                select(Job.id).where(Job.expires_at < at, Job.deleted_at.is_(None)).limit(100)
            )
        )
    for job_id in old:
        ctx.store.delete(job_id)
        with ctx.db.begin() as s:
            s.execute(update(Job).where(Job.id == job_id).values(deleted_at=at))
    return len(old)
