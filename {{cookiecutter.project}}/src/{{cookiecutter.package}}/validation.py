"""The value rules every route applies before the model sees a row.

`/predict` and `/predict/batch` apply them through the pydantic record model (`schema.py` builds
its fields with these limits); `/invocations`, whose bodies MLflow's own parsers turn into frames
and arrays, applies them here with `check_input`. Either way a rule broken names the field (the
column or tensor) and the row: non-finite numbers (unless ALLOW_NAN), integers outside the
signature's type, objects or lists where a scalar column is expected, strings longer than
MAX_STRING_LENGTH.
"""

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from mlflow.types import DataType, Schema

from .errors import InvalidInput

INTEGER_RANGES = {
    DataType.integer: (-(2**31), 2**31 - 1),
    DataType.long: (-(2**63), 2**63 - 1),
}
FLOAT_TYPES = {DataType.float, DataType.double}
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: What each bounded column type holds: a value outside is refused, never wrapped around or
#: rounded to infinity by the cast MLflow makes (a double overflows only JSON itself).
VALUE_RANGES = {**INTEGER_RANGES, DataType.float: (-FLOAT32_MAX, FLOAT32_MAX)}


@dataclass(frozen=True)
class InputLimits:
    allow_nan: bool = False
    max_string_length: int = 65_536


def _problem(value: Any, kind: DataType | None, limits: InputLimits) -> str | None:
    """What is wrong with one cell of a column of type `kind` (None when nothing is).

    NaN in a frame is pandas' "missing" (a JSON null or an empty CSV cell): MLflow's schema
    checks decide on it. A NaN the client wrote is caught in the body (`find_non_finite`).
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dict | list | tuple | set | np.ndarray) and kind is not None:
        return f"a {type(value).__name__} where a {kind.name} value is expected"
    floating = isinstance(value, float | np.floating) and not limits.allow_nan
    if floating and np.isinf(value):
        return f"{value} is not a finite number (ALLOW_NAN is off)"
    if floating and kind == DataType.float and abs(value) > FLOAT32_MAX:
        return f"{value} is outside the float range (32 bits: at most {FLOAT32_MAX:.8g})"
    if isinstance(value, int | np.integer) and kind in INTEGER_RANGES:
        low, high = INTEGER_RANGES[kind]
        if not low <= int(value) <= high:
            return f"{value} is outside the {kind.name} range {low}..{high}"
    if isinstance(value, str) and len(value) > limits.max_string_length:
        return f"a string of {len(value)} characters (MAX_STRING_LENGTH={limits.max_string_length})"
    return None


def _first_bad_row(values: Any, kind: DataType | None, limits: InputLimits) -> tuple[int, str]:
    """(row, problem) of the first bad value of a column, or (-1, "") when all are good."""
    try:
        array = values if isinstance(values, np.ndarray) else np.asarray(values)
    except (ValueError, TypeError):  # ragged nested lists: look at each row as it is
        return _first_problem(values, kind, limits)
    if array.ndim == 0:
        return _first_problem([array.item()], kind, limits)
    if array.size == 0:
        return -1, ""
    if array.dtype.kind == "f":  # the common case, vectorised
        if limits.allow_nan:
            return -1, ""
        rows = np.flatnonzero(np.isinf(array).reshape(len(array), -1).any(axis=1))
        if len(rows):
            cell = array[rows[0]]
            shown = cell if np.ndim(cell) == 0 else "a tensor with an infinite value"
            return int(rows[0]), f"{shown} is not a finite number (ALLOW_NAN is off)"
        if kind == DataType.float:
            cells = array.reshape(len(array), -1)
            rows = np.flatnonzero((np.abs(cells) > FLOAT32_MAX).any(axis=1))
            if len(rows):
                row = cells[rows[0]]
                return int(rows[0]), _problem(float(row[np.abs(row).argmax()]), kind, limits) or ""
        return -1, ""
    if array.dtype.kind in "iub":
        if kind in INTEGER_RANGES and array.size and array.dtype.itemsize > 4:
            low, high = INTEGER_RANGES[kind]
            bad = np.flatnonzero((array < low) | (array > high))
            if len(bad):
                return int(bad[0]), _problem(int(array[bad[0]]), kind, limits) or ""
        return -1, ""
    return _first_problem(array.tolist() if array.ndim > 1 else array, kind, limits)


def _first_problem(values: Any, kind: DataType | None, limits: InputLimits) -> tuple[int, str]:
    for row, value in enumerate(values):
        if problem := _problem(value, kind, limits):
            return row, problem
    return -1, ""


class _NonFinite:
    def __init__(self, token: str) -> None:
        self.token = token


def _path_to(node: Any, path: tuple = ()) -> tuple[tuple, str] | None:
    if isinstance(node, _NonFinite):
        return path, node.token
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        if (found := _path_to(value, (*path, key))) is not None:
            return found
    return None


def find_non_finite(body: bytes | str) -> str | None:
    """Where a JSON body writes NaN or Infinity (not JSON, but Python's json reads them):
    "'amount', row 3" for MLflow's dataframe formats, else the path. None when it does not
    (or when the body is not JSON at all: the parser reports that)."""
    try:
        parsed = json.loads(body, parse_constant=_NonFinite)
    except (ValueError, RecursionError):
        return None
    found = _path_to(parsed)
    if found is None:
        return None
    path, token = found
    match path:
        case ("dataframe_split", "data", int(row), int(column)):
            columns = parsed["dataframe_split"].get("columns") or []
            name = columns[column] if column < len(columns) else column
            where = f"{name!r}, row {row}"
        case ("dataframe_records" | "instances" | "inputs", int(row), str(name), *_):
            where = f"{name!r}, row {row}"
        case (str(name), int(row), *_) | ("inputs" | "instances", str(name), int(row), *_):
            where = f"{name!r}, row {row}"
        case _:
            where = "/".join(map(str, path))
    return f"{where}: {token} is not a finite number (ALLOW_NAN is off)"


def _raise(field: str, row: int, problem: str) -> None:
    raise InvalidInput(f"{field!r}, row {row}: {problem}")


def check_json_frame(parsed: Any, schema: Schema | None, limits: InputLimits) -> None:
    """The rules on the cells of a `dataframe_split` or `dataframe_records` body as sent, before
    MLflow's parser casts them to the signature's types (it wraps out-of-range integers)."""
    if not isinstance(parsed, dict) or schema is None or schema.is_tensor_spec():
        return
    kinds = {col.name: col.type for col in schema.inputs}
    split, records = parsed.get("dataframe_split"), parsed.get("dataframe_records")
    rows: list = []
    if isinstance(split, dict) and isinstance(split.get("data"), list):
        names = split.get("columns") if isinstance(split.get("columns"), list) else list(kinds)
        rows = [dict(zip(names, r, strict=False)) for r in split["data"] if isinstance(r, list)]
    elif isinstance(records, list):
        rows = [record for record in records if isinstance(record, dict)]
    for row, record in enumerate(rows):
        for name, value in record.items():
            if isinstance(name, str) and (problem := _problem(value, kinds.get(name), limits)):
                _raise(name, row, problem)


def check_input(data: Any, schema: Schema | None, limits: InputLimits) -> None:
    """Raise InvalidInput naming the field and row of the first value the rules refuse."""
    if isinstance(data, pd.DataFrame):
        kinds = {}
        if schema is not None and not schema.is_tensor_spec():
            kinds = {col.name: col.type for col in schema.inputs}
        for name in data.columns:
            row, problem = _first_bad_row(data[name].to_numpy(), kinds.get(name), limits)
            if problem:
                _raise(str(name), row, problem)
    elif isinstance(data, dict):
        for name, values in data.items():
            if isinstance(values, np.ndarray | list):
                row, problem = _first_bad_row(values, None, limits)
                if problem:
                    _raise(str(name), row, problem)
    elif isinstance(data, np.ndarray):
        row, problem = _first_bad_row(data, None, limits)
        if problem:
            _raise("input", row, problem)
