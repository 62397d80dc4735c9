"""MLflow signature -> pydantic request models (one table, one function); records -> model input.

Column-based signatures give one typed field per column (optional columns may be left out);
tensor-based signatures give one nested-list field per named tensor (`input` when unnamed);
a model without a signature takes free-form records.
"""

import base64
import binascii
import logging
from datetime import datetime
from typing import Annotated, Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import DataType, Schema, TensorSpec
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    WithJsonSchema,
    create_model,
)

from .validation import FLOAT_TYPES, INTEGER_RANGES, VALUE_RANGES, InputLimits

log = logging.getLogger(__name__)

_BASE64 = {"type": "string", "format": "base64", "contentEncoding": "base64"}


def _strict_base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("binary values are base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not valid base64: {exc}") from None


# The wire type of each MLflow column type (binary travels as base64 text).
COLUMN_TYPES: dict[DataType, Any] = {
    DataType.string: str,
    **{
        kind: Annotated[int, Field(ge=low, le=high)] for kind, (low, high) in INTEGER_RANGES.items()
    },
    DataType.float: float,
    DataType.double: float,
    DataType.boolean: bool,
    DataType.datetime: datetime,
    DataType.binary: Annotated[bytes, BeforeValidator(_strict_base64), WithJsonSchema(_BASE64)],
}
NUMERIC_TYPES = {DataType.integer, DataType.long, DataType.float, DataType.double, DataType.boolean}
UNNAMED_TENSOR = "input"


def _wire_type(kind: DataType, limits: InputLimits) -> Any:
    """COLUMN_TYPES[kind] with the limits of validation.py on floats and strings."""
    if kind in FLOAT_TYPES:
        low, high = VALUE_RANGES.get(kind, (None, None)) if not limits.allow_nan else (None, None)
        return Annotated[float, Field(allow_inf_nan=limits.allow_nan, ge=low, le=high)]
    if kind == DataType.string:
        return Annotated[str, Field(max_length=limits.max_string_length)]
    return COLUMN_TYPES[kind]


class FreeFormRecord(RootModel[dict[str, Any]]):
    """One record of a model without a signature: any JSON object."""


def _tensor_type(spec: TensorSpec, limits: InputLimits) -> Any:
    """Nested lists for one instance of the tensor (its first, batch dimension dropped)."""
    kind = spec.type.kind
    number = Annotated[float, Field(allow_inf_nan=limits.allow_nan)]
    item: Any = bool if kind == "b" else int if kind in "iu" else number if kind == "f" else str
    for size in reversed(spec.shape[1:]):
        item = (
            Annotated[list[item], Field(min_length=size, max_length=size)]
            if size > 0
            else list[item]
        )
    return item


def example_record(input_example: Any) -> dict[str, Any] | None:
    """The first row of the model's input example, as JSON-ready values."""
    if isinstance(input_example, pd.DataFrame) and len(input_example):
        return input_example.head(1).to_dict(orient="records")[0]
    return None


def build_record_model(
    signature: ModelSignature | None,
    input_example: Any = None,
    limits: InputLimits = InputLimits(),  # noqa: B008 (frozen: a safe default)
) -> type:
    """The pydantic model of one request record, generated from the model's input schema."""
    inputs: Schema | None = signature.inputs if signature else None
    if inputs is None:
        log.warning("the model has no signature: requests are free-form records, not validated")
        return FreeFormRecord
    if inputs.is_tensor_spec():
        fields = {
            (spec.name or UNNAMED_TENSOR): (_tensor_type(spec, limits), ...)
            for spec in inputs.inputs
        }
    else:
        fields = {
            col.name: (_wire_type(col.type, limits) | None, None)
            if not col.required
            else (_wire_type(col.type, limits), ...)
            for col in inputs.inputs
        }
    example = example_record(input_example)
    config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [example]} if example else None
    )
    return create_model("Record", __config__=config, **fields)


_BOUNDS = {float(bound): bound for pair in INTEGER_RANGES.values() for bound in pair}


def exact_integer_bounds(node: Any) -> Any:
    """Put back the integer bounds of an OpenAPI document that FastAPI's float-typed
    `maximum`/`minimum` rounded (2**63 - 1 becomes 9.223372036854776e+18)."""
    if isinstance(node, dict):
        for key in ("maximum", "minimum"):
            if node.get("type") == "integer" and isinstance(node.get(key), float):
                node[key] = _BOUNDS.get(node[key], int(node[key]))
        for value in node.values():
            exact_integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            exact_integer_bounds(value)
    return node


def records_to_input(records: list[BaseModel], signature: ModelSignature | None) -> Any:
    """What `pyfunc.predict` takes for these validated records."""
    inputs = signature.inputs if signature else None
    if inputs is not None and inputs.is_tensor_spec():
        arrays = {
            (spec.name or UNNAMED_TENSOR): np.asarray(
                [getattr(r, spec.name or UNNAMED_TENSOR) for r in records], dtype=spec.type
            )
            for spec in inputs.inputs
        }
        return arrays if inputs.has_input_names() else arrays[UNNAMED_TENSOR]
    rows = [r.root if isinstance(r, RootModel) else r.__dict__ for r in records]
    if inputs is None:
        return pd.DataFrame.from_records(rows)
    # Column by column, straight from the records: one array per column, typed by the
    # signature when every row has a value (about 10x cheaper than from_records + astype,
    # and it runs on the event loop for every request).
    columns: dict[str, Any] = {}
    for col in inputs.inputs:
        values = [row.get(col.name) for row in rows]
        if col.type in NUMERIC_TYPES and None not in values:
            columns[col.name] = np.array(values, dtype=col.type.to_numpy())
        elif any(v is not None for v in values):  # optional columns nobody sent are left out
            columns[col.name] = values
    return pd.DataFrame(columns)


def predictions_to_rows(raw: Any) -> list[Any]:
    """A model's output (array, Series, DataFrame, list, dict of arrays) as one value per row."""
    if isinstance(raw, pd.DataFrame):
        return raw.to_dict(orient="records")
    if isinstance(raw, pd.Series | np.ndarray):
        return raw.tolist()
    if isinstance(raw, dict):
        columns = {k: predictions_to_rows(v) for k, v in raw.items()}
        return [
            dict(zip(columns, vals, strict=True)) for vals in zip(*columns.values(), strict=True)
        ]
    return list(raw)


def count_rows(data: Any) -> int:
    """How many rows (instances) a model input holds."""
    if isinstance(data, dict):
        return max((count_rows(v) for v in data.values()), default=0)
    if isinstance(data, np.ndarray):
        return data.shape[0] if data.ndim else 1
    return len(data) if isinstance(data, pd.DataFrame | pd.Series | list | tuple) else 1
