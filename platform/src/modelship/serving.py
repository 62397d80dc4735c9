"""What every platform app's process shares: the liveness route and running on HOST:PORT."""

from __future__ import annotations

from fastapi import FastAPI

from modelship.settings import Settings


def add_liveness(app: FastAPI) -> None:
    """``GET /health/live``: the process answers (readiness is each app's own)."""

    @app.get("/health/live")
    def live() -> dict:
        return {"status": "ok"}


def run(app: FastAPI, settings: Settings) -> None:
    import uvicorn

    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
