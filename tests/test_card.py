"""Every baked model card validates against the schema in ``modelship.card``.

The card is the one file the platform reads: prices, visibility, schedules and the registered
model must come out exactly as answered, and malformed cards must be rejected.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import modelship.rules
import pytest
import yaml
from baking import import_hook_module
from gitops.repos import ANSWER_SETS, answers, baked
from modelship.card import ModelCard, load_card, parse_card
from pydantic import ValidationError


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_baked_card_validates_and_follows_the_answers(name: str) -> None:
    card = load_card(baked(name) / "catalog-info.yaml")
    given, ours = answers(name), card.modelship
    assert card.name == given["project"]
    assert card.spec.type == "ml-model"
    assert card.metadata.description == given["description"]
    assert ours.registered_model == given["mlflow_model_name"]
    assert ours.alias == given["mlflow_model_alias"]
    assert ours.owner == card.spec.owner == given["owner"]
    assert ours.visibility == given["visibility"]
    assert ours.price_per_call == Decimal(given["price_per_call"])
    assert ours.price_per_row == Decimal(given["price_per_row"])
    assert ours.retrain_schedule == (given["retrain_schedule"] or None)
    assert ours.batch_schedule == (given["batch_schedule"] or None)
    assert ours.image == given["image"]
    assert ours.namespace == given["namespace"]


def _card() -> dict:
    return yaml.safe_load((baked("defaults") / "catalog-info.yaml").read_text())


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("metadata.annotations", "modelship.io/price-per-cal", "0.1"),  # misspelt key
        ("metadata.annotations", "modelship.io/price-per-call", "-1"),
        ("metadata.annotations", "modelship.io/price-per-row", "free"),
        ("metadata.annotations", "modelship.io/visibility", "secret"),
        ("metadata.annotations", "modelship.io/retrain-schedule", "every day"),
        ("metadata.annotations", "modelship.io/owner", "someone-else"),  # not spec.owner
        ("metadata", "name", "Not_A_DNS_Label"),
        ("spec", "type", "service"),
        ("spec", "lifecycle", ""),
        ("spec", "unknown", "x"),
        ("", "kind", "API"),
    ],
)
def test_malformed_cards_are_rejected(where: str, key: str, value: object) -> None:
    card = copy.deepcopy(_card())
    node = card
    for part in filter(None, where.split(".")):
        node = node[part]
    node[key] = value
    with pytest.raises(ValidationError):
        ModelCard.model_validate(card)


def test_missing_modelship_annotation_is_rejected() -> None:
    card = copy.deepcopy(_card())
    del card["metadata"]["annotations"]["modelship.io/registered-model"]
    with pytest.raises(ValidationError):
        ModelCard.model_validate(card)


def test_schedules_are_normalised_and_empty_means_off() -> None:
    card = copy.deepcopy(_card())
    card["metadata"]["annotations"]["modelship.io/retrain-schedule"] = " 0  3 * * 0 "
    card["metadata"]["annotations"]["modelship.io/batch-schedule"] = ""
    parsed = parse_card(yaml.safe_dump(card))
    assert parsed.modelship.retrain_schedule == "0 3 * * 0"
    assert parsed.modelship.batch_schedule is None


def test_cron_macros_the_hook_accepts_are_valid_schedules() -> None:
    card = copy.deepcopy(_card())
    card["metadata"]["annotations"]["modelship.io/batch-schedule"] = "@daily"
    card["metadata"]["annotations"]["modelship.io/retrain-schedule"] = "@every-day"
    with pytest.raises(ValidationError):
        parse_card(yaml.safe_dump(card))
    card["metadata"]["annotations"]["modelship.io/retrain-schedule"] = "@weekly"
    parsed = parse_card(yaml.safe_dump(card))
    assert parsed.modelship.batch_schedule == "@daily"
    assert parsed.modelship.retrain_schedule == "@weekly"


@pytest.mark.parametrize("schedule", ["61 * * * *", "* * * * 7", "@every-day", "1-5/0 * * * *"])
def test_the_card_and_the_hook_refuse_the_same_schedules(schedule: str) -> None:
    """One rule in one file: modelship.rules, which the hook loads by its path."""
    formats = import_hook_module("answer_formats")
    assert Path(formats.SHARED_RULES) == Path(modelship.rules.__file__).resolve()
    assert formats.cron_problem(schedule) == modelship.rules.cron_problem(schedule) is not None
    card = copy.deepcopy(_card())
    card["metadata"]["annotations"]["modelship.io/batch-schedule"] = schedule
    with pytest.raises(ValidationError, match="must be empty"):
        parse_card(yaml.safe_dump(card))
