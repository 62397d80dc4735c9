"""The model card: schema of a model repo's ``catalog-info.yaml``.

A card is a Backstage ``Component`` with ``spec.type: ml-model``. modelship's own facts live in
``metadata.annotations`` under the ``modelship.io/`` prefix (annotations are strings in
Backstage and Kubernetes alike); :class:`ModelshipAnnotations` types them. Unknown
``modelship.io/`` keys are rejected, so a misspelt price never silently reads as "free".
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .rules import CRON_HELP, DNS_LABEL_PATTERN, K8S_NAME_MAX, cron_problem

PREFIX = "modelship.io/"
DNS_LABEL = rf"^{DNS_LABEL_PATTERN}$"

Price = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=9)]


def _cron_or_none(value: str | None) -> str | None:
    """An empty schedule means "off"; otherwise a schedule Kubernetes CronJobs accept (the
    rule the template's hook applies to the answers, from the same module)."""
    if value is None or not value.strip():
        return None
    schedule = " ".join(value.split())
    if problem := cron_problem(schedule):
        raise ValueError(f"{value!r} {problem}; must be {CRON_HELP}")
    return schedule


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ModelshipAnnotations(_Strict):
    """The ``modelship.io/*`` annotations of a card, typed."""

    registered_model: str = Field(alias="modelship.io/registered-model", min_length=1)
    alias: str = Field(alias="modelship.io/alias", pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    owner: str = Field(alias="modelship.io/owner", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    visibility: Literal["public", "private"] = Field(alias="modelship.io/visibility")
    row_independent: Literal["true", "false"] = Field(
        default="false", alias="modelship.io/row-independent"
    )
    price_per_call: Price = Field(alias="modelship.io/price-per-call")
    price_per_row: Price = Field(alias="modelship.io/price-per-row")
    retrain_schedule: str | None = Field(default=None, alias="modelship.io/retrain-schedule")
    batch_schedule: str | None = Field(default=None, alias="modelship.io/batch-schedule")
    image: str = Field(alias="modelship.io/image", min_length=1)
    namespace: str = Field(
        alias="modelship.io/namespace", pattern=DNS_LABEL, max_length=K8S_NAME_MAX
    )
    service_url: str = Field(alias="modelship.io/service-url", pattern=r"^https?://\S+$")

    @field_validator("retrain_schedule", "batch_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return _cron_or_none(value)


class Link(_Strict):
    url: str = Field(pattern=r"^https?://\S+$")
    title: str | None = None


class CardMetadata(_Strict):
    name: str = Field(pattern=DNS_LABEL, max_length=K8S_NAME_MAX)
    title: str | None = None
    description: str = ""
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str]
    tags: list[str] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)


class CardSpec(_Strict):
    type: Literal["ml-model"]
    lifecycle: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    system: str | None = None
    depends_on: list[str] = Field(default_factory=list, alias="dependsOn")


class ModelCard(_Strict):
    """A whole ``catalog-info.yaml``; :attr:`modelship` holds the typed modelship fields."""

    api_version: Literal["backstage.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["Component"]
    metadata: CardMetadata
    spec: CardSpec
    _modelship: ModelshipAnnotations = PrivateAttr()

    @model_validator(mode="after")
    def _parse_annotations(self) -> ModelCard:
        ours = {k: v for k, v in self.metadata.annotations.items() if k.startswith(PREFIX)}
        self._modelship = ModelshipAnnotations.model_validate(ours)
        if self._modelship.owner != self.spec.owner:
            raise ValueError("spec.owner and modelship.io/owner differ")
        return self

    @property
    def modelship(self) -> ModelshipAnnotations:
        return self._modelship

    @property
    def name(self) -> str:
        return self.metadata.name


def parse_card(text: str) -> ModelCard:
    """Parse and validate the YAML text of a card (raises ``pydantic.ValidationError``)."""
    return ModelCard.model_validate(yaml.safe_load(text))


def load_card(path: str | Path) -> ModelCard:
    """Read and validate ``catalog-info.yaml`` (or any card file) at ``path``."""
    return parse_card(Path(path).read_text(encoding="utf-8"))
