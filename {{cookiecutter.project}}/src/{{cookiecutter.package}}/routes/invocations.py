"""`POST /invocations`: MLflow's scoring protocol, answered as `mlflow models serve` answers it.

Parsing and encoding are MLflow's own functions, so the same body gives the same predictions;
the prediction itself goes through the service's predictor (timeout, metrics, batching).
"""

import io
import math
from typing import Any, NamedTuple

import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, Request, Response
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server
from mlflow.types import DataType

from ..errors import BadInput, InvalidInput, TooManyRows, UnsupportedMediaType
from ..model import ServedModel
from ..predictor import Predictor
from ..schema import NUMERIC_TYPES, count_rows
from ..validation import (
    VALUE_RANGES,
    InputLimits,
    check_input,
    check_json_frame,
    find_non_finite,
)

_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "Exactly one of: " + ", ".join(_FORMATS) + " (and optional params)",
                "properties": {name: {} for name in (*_FORMATS, "params")},
                "additionalProperties": False,
            }
        },
        "text/csv": {"schema": {"type": "string", "description": "CSV with a header row"}},
        scoring_server.CONTENT_TYPE_PARQUET: {
            "schema": {"type": "string", "format": "binary", "description": "a Parquet file"}
        },
    },
}


# JSON value types that convert to each numeric column type without loss or surprise.
_WIRE_TYPES = {
    DataType.integer: (int,), DataType.long: (int,), DataType.float: (int, float),
    DataType.double: (int, float), DataType.boolean: (bool,),
}  # fmt: skip


def _fast_split(parsed: Any, schema: Any, max_string_length: int) -> pd.DataFrame | None:
    """A `dataframe_split` body of a column signature whose values all keep the rules, column
    by column; None to let MLflow's parser and the checks handle anything else (and report
    errors their way)."""
    if schema is None or schema.is_tensor_spec() or not isinstance(parsed, dict):
        return None
    split = parsed.get("dataframe_split") if isinstance(parsed, dict) and len(parsed) == 1 else None
    if not isinstance(split, dict) or set(split) - {"columns", "data", "index"} or "index" in split:
        return None
    names, rows = split.get("columns"), split.get("data")
    specs = {col.name: col for col in schema.inputs}
    if not isinstance(rows, list) or not rows or names != [n for n in specs if n in (names or [])]:
        return None
    if any(not isinstance(r, list) or len(r) != len(names) for r in rows):
        return None
    columns: dict[str, Any] = {}
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        kind = specs[name].type
        # Values the rules of validation.py would refuse go the slow way, which names them.
        if kind in NUMERIC_TYPES and all(type(v) in _WIRE_TYPES[kind] for v in values):
            low, high = VALUE_RANGES.get(kind, (-math.inf, math.inf))
            if not low <= min(values) <= max(values) <= high:
                return None
            columns[name] = np.array(values, dtype=kind.to_numpy())
        elif kind == DataType.string and all(
            isinstance(v, str) and len(v) <= max_string_length for v in values
        ):
            columns[name] = list(values)
        else:
            return None
    return pd.DataFrame(columns)


class Invocation(NamedTuple):
    """A parsed /invocations body: the model input, its params, and whether the body was one of
    MLflow's unified LLM inputs (answered without the `predictions` wrapper)."""

    data: Any
    params: dict[str, Any] | None = None
    unwrapped: bool = False
    checked: bool = False  # the fast path applied the rules while it built the frame


def parse_invocation(
    body: bytes, content_type: str, model: ServedModel, limits: InputLimits
) -> Invocation:
    """The model input of an /invocations body, by MLflow's own parsers."""
    media, *parameters = (part.strip() for part in content_type.split(";"))
    options = dict(p.partition("=")[::2] for p in parameters)
    if options.get("charset", "utf-8").lower() != "utf-8" or set(options) - {"charset"}:
        raise UnsupportedMediaType(f"unsupported content type parameters in {content_type!r}")
    schema = model.pyfunc.metadata.get_input_schema()
    if media == "application/json":
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:  # not JSON, or NaN/Infinity, which orjson refuses
            if not limits.allow_nan and (where := find_non_finite(body)):
                raise InvalidInput(where) from None
        else:
            if (frame := _fast_split(parsed, schema, limits.max_string_length)) is not None:
                return Invocation(frame, checked=True)
            check_json_frame(parsed, schema, limits)
    try:
        if media == scoring_server.CONTENT_TYPE_PARQUET:
            return Invocation(scoring_server.parse_parquet_input(io.BytesIO(body)))
        if media == "text/csv":
            text = io.StringIO(body.decode("utf-8"))
            return Invocation(scoring_server.parse_csv_input(text, schema=schema))
        if media == "application/json":
            parsed = scoring_server._parse_json_data(body, model.pyfunc.metadata, schema)
            return Invocation(parsed.data, parsed.params, parsed.is_unified_llm_input)
    except UnicodeDecodeError:
        raise BadInput("the body is not valid UTF-8") from None
    except MlflowException as exc:
        raise BadInput(exc.message[:1000]) from None
    except Exception as exc:  # MLflow's parsers raise many kinds on odd shapes
        raise BadInput(f"malformed body: {type(exc).__name__}: {exc}"[:1000]) from None
    accepted = ", ".join(scoring_server.CONTENT_TYPES)
    raise UnsupportedMediaType(f"use one of {accepted}, not {media!r}")


def build_invocations_router(
    model: ServedModel, predictor: Predictor, max_rows: int, limits: InputLimits
) -> APIRouter:
    router = APIRouter(tags=["mlflow"])
    schema = model.pyfunc.metadata.get_input_schema()

    @router.post(
        "/invocations",
        summary="MLflow scoring protocol (drop-in for mlflow models serve)",
        openapi_extra={"requestBody": _BODY},
    )
    async def invocations(request: Request) -> Response:
        content_type = request.headers.get("content-type", "application/json")
        call = parse_invocation(await request.body(), content_type, model, limits)
        rows = count_rows(call.data)
        if rows > max_rows:
            raise TooManyRows(f"{rows} rows is more than MAX_REQUEST_ROWS={max_rows}")
        if not call.checked:
            check_input(call.data, schema, limits)
        batchable = isinstance(call.data, pd.DataFrame) and call.params is None
        raw, _ = await predictor.predict(call.data, "/invocations", rows, call.params, batchable)
        out = io.StringIO()
        if call.unwrapped:
            scoring_server.unwrapped_predictions_to_json(raw, out)
        else:
            scoring_server.predictions_to_json(raw, out)
        return Response(out.getvalue(), media_type="application/json")

    return router
