"""The list ``/`` and the model page ``/models/{name}`` (and its service's OpenAPI)."""

from __future__ import annotations

import json
from typing import Literal

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from modelship.catalog.forms import form_spec
from modelship.catalog.render import render
from modelship.catalog.session import MaybeViewer
from modelship.catalog.uploads import ACCEPT, FORMATS
from modelship.catalog.visibility import model_or_404, visible
from modelship.money import format_amount
from modelship.registry import Model

router = APIRouter()


def _text(model: Model) -> str:
    meta = model.card.metadata
    return " ".join([model.name, meta.title or "", meta.description, model.terms.owner, *meta.tags])


@router.get("/")
def listing(
    request: Request,
    who: MaybeViewer,
    q: str = "",
    owner: str = "",
    visibility: Literal["", "public", "private"] = "",
    sort: Literal["name", "recent"] = "name",
):
    everything = visible(request, who)
    models = [
        m
        for m in everything
        if q.lower() in _text(m).lower()
        and (not owner or m.terms.owner == owner)
        and (not visibility or m.terms.visibility == visibility)
    ]
    if sort == "recent":
        models.sort(key=lambda m: str(m.info.get("loaded_at") or ""), reverse=True)
    else:
        models.sort(key=lambda m: m.name)
    owners = sorted({m.terms.owner for m in everything})
    query = {"q": q, "owner": owner, "visibility": visibility, "sort": sort}
    return render(request, "list.html", models=models, owners=owners, query=query, price=price)


def price(model: Model) -> str:
    per_row = f" + {format_amount(model.price_per_row)} a row" if model.price_per_row else ""
    return f"{format_amount(model.price_per_call)} a call{per_row}"


def examples(request: Request, model: Model, record: dict) -> dict[str, str]:
    """curl and httpx calls of the model through the gateway."""
    settings = request.app.state.settings
    url = f"{settings.gateway_public_url or settings.billing_url}/v1/models/{model.name}/predict"
    body = json.dumps(record)
    curl = (
        f'curl -X POST {url} \\\n  -H "Authorization: Bearer $MODELSHIP_KEY" \\\n'
        f"  -H 'Content-Type: application/json' \\\n  -d '{body}'"
    )
    python = (
        "import os\n\nimport httpx\n\n"
        f"answer = httpx.post(\n    {url!r},\n    json={record!r},\n"
        '    headers={"Authorization": f"Bearer {os.environ[\'MODELSHIP_KEY\']}"},\n)\n'
        "print(answer.json())"
    )
    return {"curl": curl, "python": python}


def model_context(request: Request, model: Model) -> dict:
    """Everything the model page shows that comes from the registry (no model call)."""
    info = model.info
    example = info.get("input_example") or {}
    spec = form_spec(info.get("signature"), example)
    record = example or {c.name: c.value for c in spec.controls}
    if spec.kind == "tensor":
        record = {t.name: json.loads(t.value) for t in spec.tensors}
    settings = request.app.state.settings
    mlflow = None
    if settings.mlflow_ui_url and info.get("version"):
        registered = model.terms.registered_model
        mlflow = (
            f"{settings.mlflow_ui_url.rstrip('/')}/#/models/{registered}/versions/{info['version']}"
        )
    return {
        "model": model,
        "spec": spec,
        "price": price(model),
        "examples": examples(request, model, record),
        "mlflow": mlflow,
        "outputs": (info.get("signature") or {}).get("outputs") or [],
        "formats": ", ".join(sorted(set(FORMATS.values()))),
        "accept": ACCEPT,
        "max_mb": f"{settings.upload_max_bytes / 1_000_000:g}",
    }


@router.get("/models/{name}")
def model_page(name: str, request: Request, who: MaybeViewer):
    model = model_or_404(request, who, name)
    return render(request, "model.html", **model_context(request, model))


@router.get("/models/{name}/openapi.json")
async def service_openapi(name: str, request: Request, who: MaybeViewer):
    """The model service's own OpenAPI (its request schema comes from the signature)."""
    model = model_or_404(request, who, name)
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            answer = (await http.get(f"{model.url}/openapi.json")).raise_for_status()
    except httpx.HTTPError:
        raise HTTPException(502, f"model {name!r}: its OpenAPI is unavailable") from None
    return JSONResponse(answer.json())
