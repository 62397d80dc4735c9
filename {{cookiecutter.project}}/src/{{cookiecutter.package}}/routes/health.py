"""`GET /health/live`, `GET /health/ready` and `GET /info`."""

import json
from typing import Any

from fastapi import APIRouter, Request

from ..card import card_matches
from ..microbatch import BatchingPolicy
from ..model import ServedModel
from ..responses import JSONBytes
from ..schema import example_record
from ..settings import Settings

LIVE, READY = "/health/live", "/health/ready"


def model_info(
    model: ServedModel, settings: Settings, batching: BatchingPolicy, card: dict[str, Any] | None
) -> dict[str, Any]:
    raw = model.signature.to_dict() if model.signature else {}
    signature = {part: json.loads(text) for part, text in raw.items() if text} or None
    return {
        "name": model.name,
        "version": model.version,
        "uri": model.uri,
        "run_id": model.run_id,
        "flavors": list(model.flavors),
        "signature": signature,
        "input_example": example_record(model.input_example),
        "loaded_at": model.loaded_at.isoformat(),
        "image_tag": settings.image_tag,
        "card": card,
        "card_matches": card_matches(card, model),
        "micro_batching": {"enabled": batching.enabled, "reason": batching.reason},
        # what a client that splits a big input (the platform's scheduler) must respect
        "limits": {"max_request_rows": settings.max_request_rows},
    }


def build_health_router(
    model: ServedModel, settings: Settings, batching: BatchingPolicy, card: dict[str, Any] | None
) -> APIRouter:
    router = APIRouter(tags=["operations"])
    info = model_info(model, settings, batching, card)

    @router.get(LIVE, summary="The process is alive")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @router.get(READY, summary="The model is loaded and answering")
    async def ready(request: Request) -> JSONBytes:
        is_ready = getattr(request.app.state, "ready", False)
        body = {"status": "ready" if is_ready else "not ready", "model": model.name}
        return JSONBytes(body, status_code=200 if is_ready else 503)

    @router.get("/info", summary="The model card and what MLflow says of the model")
    async def get_info() -> dict[str, Any]:
        return info

    return router
