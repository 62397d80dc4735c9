"""A model's signature (its ``/info``) -> the try-it form, and form or file values -> records.

One table, :data:`CONTROLS`, maps each MLflow column type to an HTML control; :func:`coerce`
turns what a form or a file gives (text) into the JSON value the model service expects, and
says why when it cannot. Tensor signatures get a JSON editor with the expected shape.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: MLflow column type -> (input type, step)
CONTROLS: dict[str, tuple[str, str | None]] = {
    "long": ("number", "1"),
    "integer": ("number", "1"),
    "double": ("number", "any"),
    "float": ("number", "any"),
    "boolean": ("checkbox", None),
    "string": ("text", None),
    "datetime": ("datetime-local", "1"),
    "binary": ("file", None),
}
INTEGER_TYPES = {"long", "integer"}
FLOAT_TYPES = {"double", "float"}
UNNAMED_TENSOR = "input"  # the service's field name of an unnamed tensor
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class Control:
    name: str
    mlflow_type: str
    input_type: str
    step: str | None
    required: bool
    value: Any = None  # the pre-filled value, as the control shows it


@dataclass(frozen=True)
class TensorInput:
    name: str
    dtype: str
    shape: list[int]
    value: str  # the pre-filled JSON: one instance (the batch dimension dropped)


@dataclass(frozen=True)
class FormSpec:
    kind: str  # columns | tensor | free
    controls: list[Control] = field(default_factory=list)
    tensors: list[TensorInput] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.controls]


def _shown(kind: str, value: Any) -> Any:
    """An example value as its control shows it."""
    if value is None:
        return None
    if kind == "boolean":
        return bool(value)
    if kind == "datetime":
        return str(value).replace(" ", "T")[:19]
    if kind == "binary":
        return None  # a file control has no value
    return value


def _zeros(shape: list[int]) -> Any:
    if not shape:
        return 0
    return [_zeros(shape[1:]) for _ in range(shape[0] if shape[0] > 0 else 1)]


def form_spec(signature: dict | None, example: dict | None = None) -> FormSpec:
    """The form of a model's ``/info`` signature, pre-filled from its input example."""
    inputs = (signature or {}).get("inputs") or []
    if not inputs:
        return FormSpec("free")
    if all(col.get("type") == "tensor" for col in inputs):
        tensors = []
        for spec in inputs:
            tensor = spec.get("tensor-spec", {})
            shape = list(tensor.get("shape", [-1]))
            name = spec.get("name") or UNNAMED_TENSOR
            tensors.append(
                TensorInput(name, tensor.get("dtype", "?"), shape, json.dumps(_zeros(shape[1:])))
            )
        return FormSpec("tensor", tensors=tensors)
    example = example or {}
    controls = []
    for col in inputs:
        kind = col.get("type", "string")
        input_type, step = CONTROLS.get(kind, ("text", None))
        name = col.get("name", "")
        required = col.get("required", True)
        controls.append(
            Control(name, kind, input_type, step, required, _shown(kind, example.get(name)))
        )
    return FormSpec("columns", controls=controls)


def coerce(kind: str, raw: Any) -> Any:
    """The JSON value of ``raw`` (form or file text, or an already typed value) for a column of
    MLflow type ``kind``; ValueError says why not."""
    if kind in INTEGER_TYPES:
        if isinstance(raw, bool):
            raise ValueError("must be a whole number")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ValueError(f"must be a whole number, not {str(raw)[:40]!r}") from None
    if kind in FLOAT_TYPES:
        try:
            value = float(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            value = None
        if value is None or not math.isfinite(value):
            raise ValueError(f"must be a number, not {str(raw)[:40]!r}")
        return value
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in TRUE | FALSE:
            return text in TRUE
        raise ValueError(f"must be true or false, not {str(raw)[:40]!r}")
    if kind == "datetime":
        try:
            return datetime.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValueError(f"must be a date and time, not {str(raw)[:40]!r}") from None
    if kind == "binary":
        if isinstance(raw, bytes):
            return base64.b64encode(raw).decode()  # the service's wire form of binary columns
        return str(raw)
    return raw if isinstance(raw, str) else str(raw)


def check_record(spec: FormSpec, record: dict) -> tuple[dict, list[str]]:
    """``record`` typed by the signature, and its problems ("hour: must be a whole number")."""
    if spec.kind == "free":
        return record, []
    if spec.kind == "tensor":
        return _check_tensors(spec, record)
    known = {c.name: c for c in spec.controls}
    problems = [f"{name}: not a column of this model" for name in record if name not in known]
    typed = {}
    for control in spec.controls:
        raw = record.get(control.name)
        blank = isinstance(raw, str) and not raw.strip() and control.mlflow_type != "string"
        if raw is None or blank:
            if control.required:
                problems.append(f"{control.name}: required")
            continue
        try:
            typed[control.name] = coerce(control.mlflow_type, raw)
        except ValueError as exc:
            problems.append(f"{control.name}: {exc}")
    return typed, problems


def _shape_problem(value: Any, shape: list[int]) -> str | None:
    if not shape:
        return (
            None
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else "a number expected"
        )
    if not isinstance(value, list):
        return f"a list of {shape[0] if shape[0] > 0 else 'any number of'} items expected"
    if shape[0] > 0 and len(value) != shape[0]:
        return f"{shape[0]} items expected, got {len(value)}"
    for item in value:
        if problem := _shape_problem(item, shape[1:]):
            return problem
    return None


def _check_tensors(spec: FormSpec, record: dict) -> tuple[dict, list[str]]:
    typed, problems = {}, []
    for tensor in spec.tensors:
        raw = record.get(tensor.name)
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                problems.append(f"{tensor.name}: not JSON: {exc}")
                continue
        if problem := _shape_problem(raw, tensor.shape[1:]):
            problems.append(f"{tensor.name}: shape {tensor.shape[1:]}: {problem}")
            continue
        typed[tensor.name] = raw
    return typed, problems
