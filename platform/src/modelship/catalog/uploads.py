"""Batch files -> records, each with where it came from (``line 3``, ``record 2``, ``row 5``).

CSV, JSON (a list of records), JSON Lines, YAML (a list of records) and Parquet; the format
comes from the file name's extension.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import yaml

FORMATS = {
    ".csv": "CSV",
    ".json": "JSON",
    ".jsonl": "JSON Lines",
    ".ndjson": "JSON Lines",
    ".yaml": "YAML",
    ".yml": "YAML",
    ".parquet": "Parquet",
}
ACCEPT = ",".join(FORMATS)


class UploadError(ValueError):
    """A file that cannot be read as records at all (the reason says why)."""


Located = list[tuple[str, Any]]


def _csv(data: bytes) -> Located:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    rows = []
    for row in reader:
        if None in row:
            row = {**row, "(extra)": row.pop(None)}  # more cells than the header: a bad row
        rows.append((f"line {reader.line_num}", {k: v for k, v in row.items() if v is not None}))
    return rows


def _json_lines(data: bytes) -> Located:
    rows = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append((f"line {number}", json.loads(line)))
            except ValueError as exc:
                rows.append((f"line {number}", ValueError(f"not JSON: {exc}")))
    return rows


def _items(items: Any, what: str) -> Located:
    if not isinstance(items, list):
        raise UploadError(f"a {what} file must hold a list of records")
    return [(f"record {i}", item) for i, item in enumerate(items, start=1)]


def _parquet(data: bytes) -> Located:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 (pyarrow raises several kinds for a broken file)
        raise UploadError(f"not a Parquet file: {exc}") from None
    return [(f"row {i}", row) for i, row in enumerate(table.to_pylist(), start=1)]


def read_records(filename: str, data: bytes) -> Located:
    """(where, record) for each record of the file; a record that is not a JSON object is
    passed on for :func:`located_problems` to report."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in FORMATS:
        raise UploadError(f"file: {filename!r} is not one of {', '.join(FORMATS)}")
    try:
        if suffix == ".csv":
            return _csv(data)
        if suffix in (".jsonl", ".ndjson"):
            return _json_lines(data)
        if suffix == ".json":
            return _items(json.loads(data), "JSON")
        if suffix in (".yaml", ".yml"):
            return _items(yaml.safe_load(data), "YAML")
    except UnicodeDecodeError:
        raise UploadError("file: not UTF-8 text") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise UploadError(f"file: cannot be read as {FORMATS[suffix]}: {exc}") from None
    return _parquet(data)
