"""A worker: claims queued jobs, scores them chunk by chunk through the model service's
``/predict/batch``, and ends them (result, settlement, notification).

Per job at most ``JOB_CHUNK_CONCURRENCY`` chunks are in flight, per worker at most
``WORKER_CHUNK_CONCURRENCY`` across its ``WORKER_JOBS`` jobs. A chunk's output is stored, then
counted (:func:`claims.record_chunk`): a worker killed at any point leaves every counted chunk
stored, and the job's next worker scores only the chunks not counted.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import uuid

import httpx
import pyarrow as pa
import pyarrow.csv

from modelship.scheduler import claims, jobs
from modelship.scheduler.jobs import Context
from modelship.scheduler.models import Job
from modelship.scheduler.validate import signature_columns

log = logging.getLogger("modelship.scheduler")
RETRY = {429, 500, 502, 503, 504}


class ChunkFailed(Exception):
    pass


def predictions_table(answers: list) -> pa.Table:
    """The model's answers as columns: ``prediction``, or ``prediction_<field>`` per field."""
    if answers and all(isinstance(a, dict) for a in answers):
        names = list(dict.fromkeys(k for a in answers for k in a))
        return pa.table({f"prediction_{n}": _array([a.get(n) for a in answers]) for n in names})
    return pa.table({"prediction": _array(answers)})


def _array(values: list) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else json.dumps(v) for v in values], pa.string())


def _csv_body(chunk: pa.Table, names: list[str]) -> bytes:
    """The chunk's model columns as CSV (written by Arrow, read by every baked service's
    ``/predict/batch``): an empty cell is a missing optional value."""
    wanted = [n for n in names if n in chunk.column_names] or chunk.column_names
    sink = io.BytesIO()
    pyarrow.csv.write_csv(chunk.select(wanted), sink)
    return sink.getvalue()


def _load_job(db, job_id: str) -> Job:
    with db() as s:
        return s.get(Job, job_id)


class Worker:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.chunks = asyncio.Semaphore(ctx.settings.worker_chunk_concurrency)
        self.http: httpx.AsyncClient | None = None
        # Arrow imports pandas the first time it converts Python values (seconds, measured
        # here): at start, not in the first chunk of the first job.
        predictions_table([0.0])

    async def _db(self, fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def run(self) -> None:
        """Claim and run jobs until cancelled; reap and settle along the way."""
        s = self.ctx.settings
        timeout = httpx.Timeout(s.request_timeout_s, connect=10)
        async with httpx.AsyncClient(timeout=timeout) as self.http:
            running: set[asyncio.Task] = set()
            try:
                while True:
                    try:
                        await self.housekeeping()
                    except Exception:  # the next round tries again
                        log.exception("housekeeping failed")
                    started = False
                    try:
                        while len(running) < s.worker_jobs:
                            job_id = await self._db(claims.claim, self.ctx.db, self.id, s.lease_s)
                            if job_id is None:
                                break
                            started = True
                            task = asyncio.create_task(self.run_job(job_id))
                            running.add(task)
                            task.add_done_callback(running.discard)
                    except Exception:  # the database away for a moment: claim again later
                        log.exception("claiming failed")
                    if not started:
                        await asyncio.sleep(s.poll_s)
            finally:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                handed = await self._db(claims.release, self.ctx.db, self.id)
                if handed:
                    log.info("worker stopping: jobs %s queued again", ", ".join(handed))

    async def housekeeping(self) -> None:
        s = self.ctx.settings
        for job_id in await self._db(claims.reap, self.ctx.db, self.id):
            log.warning("job %s: its worker's lease expired; queued again", job_id)
        while job_id := await self._db(claims.claim_settlement, self.ctx.db, self.id, s.lease_s):
            try:
                await self._db(jobs.finalize, self.ctx, job_id, self.id)
            except Exception:
                log.exception("job %s: settling failed; retried later", job_id)
                break
        await self._db(jobs.expire, self.ctx)

    async def run_job(self, job_id: str) -> None:
        try:
            await self._score(job_id)
        except Exception:
            log.exception("job %s: worker error", job_id)
            await self._db(claims.end, self.ctx.db, job_id, self.id, "failed", "internal error")
        s = self.ctx.settings
        try:
            if await self._db(claims.claim_settlement, self.ctx.db, self.id, s.lease_s, job_id):
                await self._db(jobs.finalize, self.ctx, job_id, self.id)
        except Exception:
            log.exception("job %s: settling failed; retried later", job_id)

    async def _score(self, job_id: str) -> None:
        ctx, s = self.ctx, self.ctx.settings
        job = await self._db(_load_job, ctx.db, job_id)
        model = ctx.registry.get(job.model)
        if model is None:
            await ctx.registry.refresh()
            model = ctx.registry.get(job.model)
        if model is None:
            await self._db(claims.end, ctx.db, job_id, self.id, "failed", "model not served")
            return
        done = set(await self._db(claims.done_chunks, ctx.db, job_id))
        todo = [i for i in range(jobs.chunk_count(job)) if i not in done]
        if done:
            log.info("job %s resumes at chunk %d (%d done)", job_id, min(todo or [0]), len(done))
        names = [c["name"] for c in signature_columns(model.info)]
        lost = asyncio.Event()
        per_job = asyncio.Semaphore(s.job_chunk_concurrency)

        async def beat() -> None:
            while not lost.is_set():
                await asyncio.sleep(s.lease_s / 3)
                if not await self._db(claims.heartbeat, ctx.db, job_id, self.id, s.lease_s):
                    lost.set()

        async def one(index: int) -> None:
            async with per_job, self.chunks:
                if lost.is_set():
                    return
                chunk = await self._db(ctx.store.input_chunk, job_id, index)
                try:
                    answers = await self._predict(model.url, chunk, names, index, job.chunk_rows)
                except ChunkFailed:  # the job fails: no later chunk starts, none in flight counts
                    lost.set()
                    raise
                if lost.is_set():
                    return
                out = chunk
                for name, column in zip(answers.column_names, answers.columns, strict=True):
                    out = out.append_column(name, column)
                await self._db(ctx.store.put_chunk, job_id, index, out)
                if not await self._db(
                    claims.record_chunk, ctx.db, job_id, self.id, index, out.num_rows
                ):
                    lost.set()

        beating = asyncio.create_task(beat())
        chunks = [asyncio.create_task(one(i)) for i in todo]
        try:
            await asyncio.gather(*chunks)
        except ChunkFailed as exc:
            lost.set()
            await self._db(claims.end, ctx.db, job_id, self.id, "failed", str(exc))
            return
        finally:
            for task in [*chunks, beating]:
                task.cancel()
            await asyncio.gather(*chunks, beating, return_exceptions=True)
        if not lost.is_set():
            await self._db(claims.end, ctx.db, job_id, self.id, "succeeded", None)

    async def _predict(self, url, chunk: pa.Table, names, index: int, size: int) -> pa.Table:
        first = index * size + 1
        where = f"chunk {index} (rows {first}-{first + chunk.num_rows - 1})"
        body = _csv_body(chunk, names)
        s = self.ctx.settings
        for attempt in range(s.job_chunk_attempts):
            try:
                answer = await self.http.post(
                    f"{url}/predict/batch",
                    content=body,
                    headers={"Content-Type": "text/csv"},
                )
            except httpx.HTTPError as exc:
                reason = f"model unreachable: {type(exc).__name__}"
            else:
                if answer.status_code == 200:
                    predictions = answer.json().get("predictions")
                    if not isinstance(predictions, list) or len(predictions) != chunk.num_rows:
                        raise ChunkFailed(f"{where}: the model answered a wrong number of rows")
                    return predictions_table(predictions)
                reason = f"the model answered {answer.status_code}: {answer.text[:300]}"
                if answer.status_code not in RETRY:
                    raise ChunkFailed(f"{where}: {reason}")
            if attempt + 1 < s.job_chunk_attempts:
                await asyncio.sleep(0.2 * 2**attempt)
        raise ChunkFailed(f"{where}: {reason}")
