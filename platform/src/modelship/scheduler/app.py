"""``modelship scheduler`` (the jobs API and one worker in the process) and ``modelship worker``
(a worker alone: the cluster's worker Deployment)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from contextlib import asynccontextmanager

from fastapi import FastAPI

from modelship.db import make_engine, session_factory, upgrade_on_start
from modelship.registry import Registry
from modelship.scheduler import api, schedules_api, shards_api
from modelship.scheduler.jobs import Context
from modelship.scheduler.schedules import tick_forever
from modelship.scheduler.store import ResultStore
from modelship.scheduler.worker import Worker
from modelship.serving import add_liveness, run
from modelship.settings import Settings, get_settings

log = logging.getLogger("modelship.scheduler")


@asynccontextmanager
async def running(settings: Settings, with_worker: bool = True):
    """The context (database, registry, store) and the background tasks, for as long as the
    block runs: the registry refresh, the schedules' tick and (``with_worker``) a worker."""
    engine = make_engine(settings.database_url)
    upgrade_on_start(engine)
    ctx = Context(
        settings, session_factory(engine),
        Registry(settings.models, settings.discovery, namespace=settings.models_namespace),
        ResultStore(settings),
    )  # fmt: skip
    await ctx.registry.refresh()
    tasks = [
        asyncio.create_task(ctx.registry.run(settings.registry_refresh_s)),
        asyncio.create_task(tick_forever(ctx)),
    ]
    if with_worker:
        tasks.append(asyncio.create_task(Worker(ctx).run()))
    try:
        yield ctx
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        engine.dispose()


def create_app(settings: Settings | None = None, with_worker: bool | None = None) -> FastAPI:
    settings = settings or get_settings()
    with_worker = settings.scheduler_worker if with_worker is None else with_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with running(settings, with_worker) as ctx:
            app.state.ctx, app.state.db = ctx, ctx.db  # ``db``: billing's key check reads it
            yield

    app = FastAPI(title="modelship scheduler", lifespan=lifespan)
    app.include_router(api.router)
    app.include_router(schedules_api.router)
    app.include_router(shards_api.router)

    add_liveness(app)

    return app


def serve(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    run(create_app(settings), settings)


def work(settings: Settings | None = None) -> None:
    """A worker alone, until SIGTERM/SIGINT: then its running jobs are queued again at once
    (another worker resumes them at their first unfinished chunk) rather than after the lease."""
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def main() -> None:
        async with running(settings, with_worker=False) as ctx:
            task = asyncio.create_task(Worker(ctx).run())
            loop = asyncio.get_running_loop()
            for stop in (signal.SIGTERM, signal.SIGINT):  # hand the jobs back, then exit
                loop.add_signal_handler(stop, task.cancel)
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(main())
