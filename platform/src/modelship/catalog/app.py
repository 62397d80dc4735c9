"""The catalog service: ``modelship catalog`` serves :func:`create_app`.

It reads the served models from the platform registry (their ``/info``; no model is called to
render a page), signs users in with short-lived keys issued by billing, and sends every
prediction through billing's gateway, so a click is billed like an API call.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from modelship.catalog import account, invites, jobs, pages, signin, tryit
from modelship.catalog.billing_client import Billing
from modelship.catalog.render import HERE, render
from modelship.catalog.session import csrf_middleware
from modelship.catalog.throttle import SignInThrottle
from modelship.db import make_engine, session_factory, upgrade
from modelship.registry import Registry
from modelship.serving import add_liveness, run
from modelship.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_engine(settings.database_url)
        upgrade(engine)  # every app's branch: the catalog's tables stand on billing's
        app.state.settings = settings
        app.state.sign_in_throttle = SignInThrottle(
            settings.sign_in_failures, settings.sign_in_window_s
        )
        app.state.db = session_factory(engine)
        app.state.registry = Registry(settings.models, settings.discovery)
        await app.state.registry.refresh()
        app.state.billing = Billing(
            settings.billing_url, settings.admin_key, settings.request_timeout_s
        )
        app.state.scheduler = (
            Billing(settings.scheduler_url, None, settings.request_timeout_s, "scheduler")
            if settings.scheduler_url
            else None
        )
        refresh = asyncio.create_task(app.state.registry.run(settings.registry_refresh_s))
        try:
            yield
        finally:
            refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresh
            await app.state.billing.close()
            if app.state.scheduler is not None:
                await app.state.scheduler.close()
            engine.dispose()

    app = FastAPI(title="modelship catalog", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.middleware("http")(csrf_middleware)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (pages, signin, tryit, jobs, account, invites):
        app.include_router(module.router)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return render(request, "error.html", exc.status_code, detail=exc.detail)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
        )
        return render(request, "error.html", 422, detail=detail)

    add_liveness(app)

    return app


def serve(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    run(create_app(settings), settings)
