"""The models the platform serves: each service's ``/info`` and readiness, kept fresh.

A model's platform name is its card's ``metadata.name``. A service whose card fails the
``modelship.card`` schema is not served; the log says why.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from modelship.card import ModelCard, ModelshipAnnotations
from modelship.money import price_to_micros

log = logging.getLogger("modelship.registry")
MODEL_LABEL = "modelship.io/model"


@dataclass(frozen=True)
class Model:
    name: str
    url: str
    card: ModelCard
    info: dict[str, Any] = field(repr=False)
    ready: bool

    @property
    def terms(self) -> ModelshipAnnotations:
        return self.card.modelship

    @property
    def price_per_call(self) -> int:
        return price_to_micros(self.terms.price_per_call)

    @property
    def price_per_row(self) -> int:
        return price_to_micros(self.terms.price_per_row)


async def probe(client: httpx.AsyncClient, url: str) -> Model | None:
    """One service's model, or None (unreachable, or a card that fails the schema)."""
    try:
        info = (await client.get(f"{url}/info")).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("model service %s: /info unavailable: %s", url, exc)
        return None
    try:
        card = ModelCard.model_validate(info.get("card"))
    except ValidationError as exc:
        log.warning("model service %s not served: its card is invalid: %s", url, exc)
        return None
    try:
        ready = (await client.get(f"{url}/health/ready")).status_code == 200
    except httpx.HTTPError:
        ready = False
    return Model(name=card.name, url=url, card=card, info=info, ready=ready)


def kubernetes_urls(namespace: str | None = None) -> list[str]:
    """Services labelled ``modelship.io/model``, via the in-cluster API (read-only RBAC), in
    every namespace or in ``namespace`` only (a Role there is then enough)."""
    from kubernetes import client, config  # only in a cluster image

    config.load_incluster_config()
    api = client.CoreV1Api()
    if namespace:
        services = api.list_namespaced_service(namespace, label_selector=MODEL_LABEL)
    else:
        services = api.list_service_for_all_namespaces(label_selector=MODEL_LABEL)
    urls = []
    for svc in services.items:
        port = svc.spec.ports[0].port
        urls.append(f"http://{svc.metadata.name}.{svc.metadata.namespace}.svc:{port}")
    return urls


class Registry:
    def __init__(
        self,
        urls: list[str],
        discovery: str = "static",
        timeout_s: float = 5.0,
        namespace: str | None = None,
    ):
        self._urls = list(urls)
        self._discovery = discovery
        self._namespace = namespace
        self._timeout = timeout_s
        self.models: dict[str, Model] = {}

    def get(self, name: str) -> Model | None:
        return self.models.get(name)

    async def refresh(self) -> None:
        urls = self._urls
        if self._discovery == "kubernetes":
            urls = await asyncio.to_thread(kubernetes_urls, self._namespace)
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            found = await asyncio.gather(*(probe(client, u) for u in urls))
        models: dict[str, Model] = {}
        for model in filter(None, found):
            if model.name in models:
                log.warning(
                    "model %s served twice (%s, %s): keeping the first",
                    model.name,
                    models[model.name].url,
                    model.url,
                )
                continue
            models[model.name] = model
        self.models = models

    async def run(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.refresh()
            except Exception:  # a failed refresh keeps the last known models
                log.exception("registry refresh failed")
