"""`create_app(settings, model)`: wires settings, the loaded model, routes, lifespan and metrics."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from .card import read_card
from .errors import install_error_handlers
from .http_limits import BodyLimit
from .logs import RequestIdMiddleware, configure_logging
from .metrics import MODEL_INFO, instrument
from .model import ServedModel, load_model, warm_up
from .predictor import Predictor
from .routes.health import build_health_router
from .routes.invocations import build_invocations_router
from .routes.predict import build_predict_router
from .schema import exact_integer_bounds
from .settings import Settings, get_settings
from .validation import InputLimits

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, model: ServedModel | None = None) -> FastAPI:
    """The service for `model` (loaded from `settings.model_uri` when not given: fail fast)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    model = model or load_model(settings)
    # Here, not in the lifespan: `serve` builds the app before it forks the workers, so what
    # the first prediction loads is shared by them, and the first caller does not pay for it.
    warm_up(model)
    card = read_card(settings.card_path)
    predictor = Predictor(model, settings, card)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        MODEL_INFO.labels(model.name, model.version).set(1)
        app.state.ready = True
        yield
        app.state.ready = False
        await predictor.close()

    app = FastAPIOffline(  # Swagger UI from the package's own files: /docs works offline
        title=f"{model.name} model service",
        version=model.version,
        description=f"Serves MLflow model `{model.uri}` from memory.",
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.ready = False
    limits = InputLimits(settings.allow_nan, settings.max_string_length)
    rows = settings.max_request_rows
    app.include_router(build_predict_router(model, predictor, rows, limits))
    app.include_router(build_invocations_router(model, predictor, rows, limits))
    app.include_router(build_health_router(model, settings, predictor.batching, card))
    generate_openapi = app.openapi
    app.openapi = lambda: exact_integer_bounds(generate_openapi())  # type: ignore[method-assign]
    install_error_handlers(app)
    instrument(app)
    app.add_middleware(BodyLimit, max_bytes=settings.body_limit)
    app.add_middleware(RequestIdMiddleware)
    return app


def route_paths(app: FastAPI) -> set[str]:
    """Every path the app answers, routers included without a prefix walked into (newer
    FastAPI keeps included routers as one entry of `app.routes`)."""
    paths: set[str] = set()
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        if isinstance(getattr(route, "path", None), str):
            paths.add(route.path)
        pending.extend(getattr(getattr(route, "original_router", None), "routes", []))
    return paths
