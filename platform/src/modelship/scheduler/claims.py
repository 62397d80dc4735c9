"""A job's life in the database: claimed with a lease, kept by heartbeats, advanced a chunk at
a time, re-queued by the reaper when its lease runs out.

The claim is one ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id``: on PostgreSQL two workers never wait for or take the same job; on SQLite
(which renders no ``FOR UPDATE``) the same statement is atomic because writers serialise.
Every later write is conditional on the lease (``lease_owner``) and on ``status = 'running'``,
so a worker that lost its job (reaped, or cancelled by its owner) changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from modelship.scheduler.models import ENDED, Job, JobChunk

JOBS = Job.__table__


def now() -> datetime:
    return datetime.now(UTC)


def claim(db: sessionmaker[Session], worker: str, lease_s: float) -> str | None:
    """The id of the oldest queued job, now running under ``worker``'s lease; None if none."""
    at = now()
    pick = (
        select(JOBS.c.id)
        .where(JOBS.c.status == "queued")
        .order_by(JOBS.c.created_at, JOBS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(JOBS)
        .where(JOBS.c.id == pick, JOBS.c.status == "queued")
        .values(
            status="running",
            lease_owner=worker,
            lease_expires_at=at + timedelta(seconds=lease_s),
            attempts=JOBS.c.attempts + 1,
        )
        .returning(JOBS.c.id)
    )
    with db.begin() as s:
        job_id = s.execute(stmt).scalar()
        if job_id is not None:
            s.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id, JOBS.c.started_at.is_(None))
                .values(started_at=at)
            )
        return job_id


def reap(db: sessionmaker[Session], worker: str) -> list[str]:
    """Re-queue running jobs whose lease expired (their worker died); answers their ids.
    A worker does not reap its own jobs: it is alive, and its next heartbeat renews them."""
    with db.begin() as s:
        return list(
            s.execute(
                update(JOBS)
                .where(
                    JOBS.c.status == "running",
                    JOBS.c.lease_expires_at < now(),
                    JOBS.c.lease_owner != worker,
                )
                .values(status="queued", lease_owner=None, lease_expires_at=None)
                .returning(JOBS.c.id)
            ).scalars()
        )


def release(db: sessionmaker[Session], worker: str) -> list[str]:
    """A worker that stops (SIGTERM, a rolling update) hands its jobs back at once: its running
    jobs are queued again (their counted chunks stay counted) and its settlements are free."""
    with db.begin() as s:
        queued = list(
            s.execute(
                update(JOBS)
                .where(JOBS.c.lease_owner == worker, JOBS.c.status == "running")
                .values(status="queued", lease_owner=None, lease_expires_at=None)
                .returning(JOBS.c.id)
            ).scalars()
        )
        s.execute(
            update(JOBS)
            .where(JOBS.c.lease_owner.in_((worker, f"{worker}:settle")))
            .values(lease_owner=None, lease_expires_at=None)
        )
    return queued


def _mine(job_id: str, worker: str):
    return and_(JOBS.c.id == job_id, JOBS.c.lease_owner == worker, JOBS.c.status == "running")


def heartbeat(db: sessionmaker[Session], job_id: str, worker: str, lease_s: float) -> bool:
    """Extend the lease; False when the job is no longer this worker's to run."""
    with db.begin() as s:
        done = s.execute(
            update(JOBS)
            .where(_mine(job_id, worker))
            .values(lease_expires_at=now() + timedelta(seconds=lease_s))
        )
        return done.rowcount == 1


class _LeaseLost(Exception):
    pass


def record_chunk(
    db: sessionmaker[Session], job_id: str, worker: str, index: int, rows: int
) -> bool:
    """After the chunk's output is stored: count it once. False when the lease was lost."""
    try:
        with db.begin() as s:
            s.execute(insert(JobChunk.__table__), {"job_id": job_id, "index": index, "rows": rows})
            advanced = s.execute(
                update(JOBS).where(_mine(job_id, worker)).values(rows_done=JOBS.c.rows_done + rows)
            )
            if advanced.rowcount != 1:
                raise _LeaseLost  # rolls the chunk row back too
    except _LeaseLost:
        return False
    except IntegrityError:  # recorded by the job's previous worker: already counted
        return True
    return True


def done_chunks(db: sessionmaker[Session], job_id: str) -> list[int]:
    with db() as s:
        return list(s.scalars(select(JobChunk.index).where(JobChunk.job_id == job_id)))


def end(
    db: sessionmaker[Session], job_id: str, worker: str, status: str, error: str | None
) -> bool:
    """The worker's job ends (succeeded or failed); False when it was not its job any more."""
    with db.begin() as s:
        done = s.execute(
            update(JOBS)
            .where(_mine(job_id, worker))
            .values(status=status, error=error, finished_at=now())
        )
        return done.rowcount == 1


def cancel(db: sessionmaker[Session], job_id: str) -> bool:
    """A queued or running job is cancelled (its worker stops at its next heartbeat)."""
    with db.begin() as s:
        done = s.execute(
            update(JOBS)
            .where(JOBS.c.id == job_id, JOBS.c.status.in_(("queued", "running")))
            .values(status="cancelled", finished_at=now(), lease_owner=None, lease_expires_at=None)
        )
        return done.rowcount == 1


def claim_settlement(
    db: sessionmaker[Session], worker: str, lease_s: float, job_id: str | None = None
) -> str | None:
    """An ended job (``job_id``, or any) not yet settled and free to take (no live lease of
    another worker), now leased to ``worker`` for settling (once: ``<worker>:settle`` is not
    free again to anyone until it expires); None when there is none."""
    at = now()
    free = or_(
        JOBS.c.lease_owner.is_(None),
        JOBS.c.lease_owner == worker,
        JOBS.c.lease_expires_at < at,
    )
    which = [] if job_id is None else [JOBS.c.id == job_id]
    pick = (
        select(JOBS.c.id)
        .where(JOBS.c.status.in_(ENDED), JOBS.c.settled_at.is_(None), free, *which)
        .order_by(JOBS.c.finished_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    with db.begin() as s:
        return s.execute(
            update(JOBS)
            .where(JOBS.c.id == pick, JOBS.c.settled_at.is_(None))
            .values(
                lease_owner=f"{worker}:settle", lease_expires_at=at + timedelta(seconds=lease_s)
            )
            .returning(JOBS.c.id)
        ).scalar()
