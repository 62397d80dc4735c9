"""Input rows against the model's signature (its ``/info``), before a job is queued.

Column by column in Arrow: a missing required column, an empty cell in a required column, or a
value that does not convert to the column's MLflow type is reported with its line number and
reason (the first :data:`MAX_PROBLEMS`). What passes is cast to the signature's types, so the
chunks the worker sends are what the model service accepts.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from modelship.scheduler.errors import InputError
from modelship.scheduler.inputs import Input

MAX_PROBLEMS = 20
ARROW_TYPES = {
    "boolean": pa.bool_(),
    "integer": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "string": pa.string(),
    "binary": pa.binary(),
    "datetime": pa.timestamp("us"),
}


class RowsRejected(Exception):
    """Rows that break the signature: ``problems`` = [{line, column, problem}]."""

    def __init__(self, problems: list[dict], total: int) -> None:
        super().__init__(f"{total} problem(s)")
        self.problems, self.total = problems, total


def signature_columns(info: dict) -> list[dict]:
    """The signature's named input columns ([{name, type, required}]), or [] without one."""
    inputs = ((info or {}).get("signature") or {}).get("inputs") or []
    return [c for c in inputs if isinstance(c, dict) and c.get("name")]


def _bad_values(column: pa.Array, target: pa.DataType) -> list[int]:
    """Indexes of the values that do not convert to ``target``."""
    bad = []
    for i, value in enumerate(column.to_pylist()):
        if value is None:
            continue
        try:
            pa.array([value]).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            bad.append(i)
    return bad


def conform(data: Input, info: dict) -> pa.Table:
    """``data.table`` with the signature's columns cast to its types; raises RowsRejected."""
    columns = signature_columns(info)
    table = data.table
    if table.num_rows == 0:
        raise InputError("file", "no rows")
    missing = [
        c["name"]
        for c in columns
        if c.get("required", True) and c["name"] not in table.column_names
    ]
    if missing:
        wanted = ", ".join(c["name"] for c in columns)
        raise InputError("columns", f"missing {', '.join(missing)} (the model reads {wanted})")
    problems: list[dict] = []
    total = 0
    for spec in columns:
        name = spec["name"]
        target = ARROW_TYPES.get(spec.get("type", ""))
        if name not in table.column_names or target is None:
            continue
        column = table[name].combine_chunks()
        if pa.types.is_string(column.type) and not pa.types.is_string(target):
            column = pc.utf8_trim_whitespace(column)
        if spec.get("required", True) and column.null_count:
            nulls = pc.indices_nonzero(pc.is_null(column)).to_pylist()
            total += len(nulls)
            problems += [(i, name, "empty, but the model requires it") for i in nulls]
        try:
            cast = column.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            bad = _bad_values(column, target)
            total += len(bad)
            values = column.to_pylist()
            problems += [(i, name, f"{values[i]!r} is not a {spec['type']}") for i in bad]
            continue
        table = table.set_column(table.column_names.index(name), name, cast)
    if problems:
        problems.sort()
        raise RowsRejected(
            [
                {data.line_of: i + data.first_line, "column": c, "problem": p}
                for i, c, p in problems[:MAX_PROBLEMS]
            ],
            total,
        )
    return table
