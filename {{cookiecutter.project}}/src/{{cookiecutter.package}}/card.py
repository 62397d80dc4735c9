"""The repo's model card (`catalog-info.yaml`), as the service reports it under `/info`."""

from pathlib import Path
from typing import Any

import yaml

from .model import ServedModel


def read_card(path: Path) -> dict[str, Any] | None:
    """The model card (catalog-info.yaml), or None when the file is not there."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def card_matches(card: dict[str, Any] | None, model: ServedModel) -> bool | None:
    """Whether the card describes the model served (its registered model name), None without
    a card: a repo serving another model than its card's says so instead of passing it off."""
    if not card:
        return None
    annotations = (card.get("metadata") or {}).get("annotations") or {}
    return annotations.get("modelship.io/registered-model") == model.name
