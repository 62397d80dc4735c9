"""The billing service: ``modelship billing`` serves :func:`create_app`.

On start it migrates an empty database, installs the admin key of the settings (hashed),
discovers the models, and runs the registry refresh and the hold sweeper in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from modelship import ledger
from modelship.billing import accounts_api, authorize, gateway, reports
from modelship.billing.auth import CallerCache
from modelship.billing.fastpath import MeteredFastPath
from modelship.billing.ratelimit import RateLimiter
from modelship.billing.upstream import Upstream
from modelship.db import make_engine, session_factory, upgrade_on_start
from modelship.keys import install_bootstrap_key
from modelship.ledger_batches import LedgerBatches, has_function
from modelship.registry import Registry
from modelship.serving import add_liveness
from modelship.settings import Settings, get_settings

log = logging.getLogger("modelship.billing")
ADMIN = "admin"


async def _sweeper(db, every_s: float) -> None:
    while True:
        try:
            released = await run_in_threadpool(ledger.sweep, db)
            if released:
                log.warning("sweeper released %d expired holds", released)
        except Exception:  # the next round retries; the ledger is unchanged by a failed one
            log.exception("sweep failed")
        await asyncio.sleep(every_s)


def _batches(engine) -> LedgerBatches | None:
    """PostgreSQL: the gateway's ledger steps in batches (see ledger_batches)."""
    if engine.dialect.name != "postgresql":
        return None
    if not has_function(engine):
        log.warning(
            "the database lacks %s (migration billing_0003): run `modelship db upgrade`; "
            "until then every ledger step is a transaction of its own",
            "modelship_ledger_batch",
        )
        return None
    return LedgerBatches(engine)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_engine(settings.database_url)
        upgrade_on_start(engine)
        app.state.settings = settings
        app.state.db = session_factory(engine)
        if settings.admin_key:
            with app.state.db.begin() as s:
                install_bootstrap_key(
                    s, ledger.ensure_account(s, ADMIN, "admin"), settings.admin_key
                )
        app.state.batches = _batches(engine)
        app.state.platform_id = ledger.platform_id(app.state.db)
        app.state.callers = CallerCache(settings.key_cache_s)
        app.state.limiter = RateLimiter(settings.rate_limit_per_s)
        app.state.owner_ids = {}  # owner name -> account id (accounts are never deleted)
        app.state.registry = Registry(settings.models, settings.discovery)
        await app.state.registry.refresh()
        async with Upstream(settings.request_timeout_s) as http:
            app.state.http = http
            tasks = [
                asyncio.create_task(app.state.registry.run(settings.registry_refresh_s)),
                asyncio.create_task(_sweeper(app.state.db, min(settings.hold_ttl_s, 60.0))),
            ]
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                if app.state.batches is not None:
                    await app.state.batches.close()
        engine.dispose()

    app = FastAPI(title="modelship billing", lifespan=lifespan)
    app.include_router(accounts_api.router)
    app.include_router(gateway.router)
    app.include_router(authorize.router)
    app.include_router(reports.router)
    app.add_middleware(MeteredFastPath)  # the metered routes, ahead of FastAPI's routing

    add_liveness(app)

    return app


def serve(settings: Settings | None = None) -> None:
    """Serve on ``HOST:PORT``; with ``WORKERS`` > 1 each worker builds its app from the
    environment's settings (``create_app`` as a factory)."""
    import uvicorn

    settings = settings or get_settings()
    options = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "access_log": settings.access_log,
    }
    if settings.workers > 1:
        uvicorn.run(
            "modelship.billing.app:create_app", factory=True, workers=settings.workers, **options
        )
    else:
        uvicorn.run(create_app(settings), **options)
