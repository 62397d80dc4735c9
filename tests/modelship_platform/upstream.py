"""An instant model service for gateway tests: the baked service's routes and ``/info`` card.

A first record ``{"status": 500}`` makes it answer 500 (a failing model call) and
``{"sleep": 2}`` makes it sleep first (timeouts, clients that go away).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import threading
import time
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from modelship_platform.postgres import free_port


def card(name: str, owner: str, visibility: str, per_call: str, per_row: str) -> dict:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "annotations": {
                "modelship.io/registered-model": name,
                "modelship.io/alias": "champion",
                "modelship.io/owner": owner,
                "modelship.io/visibility": visibility,
                "modelship.io/price-per-call": per_call,
                "modelship.io/price-per-row": per_row,
                "modelship.io/image": f"ghcr.io/example/{name}:1",
                "modelship.io/namespace": "models",
                "modelship.io/service-url": f"http://{name}.models.svc.cluster.local",
            },
        },
        "spec": {"type": "ml-model", "lifecycle": "production", "owner": owner},
    }


def instant_app(model_card: dict, **info_fields) -> Starlette:
    """``info_fields`` (a ``signature``, an ``input_example``, ...) are added to ``/info``."""

    async def info(_: Request):
        name = model_card["metadata"]["name"]
        return JSONResponse({"name": name, "card": model_card, **info_fields})

    async def ready(_: Request):
        return JSONResponse({"status": "ready"})

    async def predict(request: Request):
        body = await request.body()
        if request.headers.get("content-type", "").startswith("text/csv"):  # the scheduler's
            parsed = list(csv.DictReader(io.StringIO(body.decode())))
        else:
            parsed = json.loads(body)
        rows = parsed if isinstance(parsed, list) else [parsed]
        first = rows[0] if rows and isinstance(rows[0], dict) else {}
        await asyncio.sleep(float(first.get("sleep", 0)))
        status = int(first.get("status", 200))
        return JSONResponse({"predictions": [0] * len(rows)}, status_code=status)

    return Starlette(
        routes=[
            Route("/info", info),
            Route("/health/ready", ready),
            Route("/predict", predict, methods=["POST"]),
            Route("/predict/batch", predict, methods=["POST"]),
            Route("/invocations", predict, methods=["POST"]),
        ]
    )


@contextmanager
def serve_in_thread(app, **config):
    """A real uvicorn server on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _answers_200(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_up(url: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    """Until ``url`` answers 200; raises when ``process`` exits first or time runs out."""
    deadline = time.monotonic() + timeout_s
    while not _answers_200(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 (exit code {process.poll()})")
        time.sleep(0.1)
