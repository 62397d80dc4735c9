"""Reading a job's input into an Arrow table: an uploaded file or an ``input_uri``.

Files: CSV (header row), a JSON list of records, JSON Lines, Parquet. URIs: ``s3://bucket/key``,
a path under one of the settings' ``INPUT_FOLDERS``, ``sql://<connection>?query=SELECT ...``.
Each row keeps its place in the file (``lines``): the validation names the line it breaks.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.csv
import pyarrow.fs
import pyarrow.parquet as pq

from modelship.scheduler.errors import InputError
from modelship.scheduler.sql_source import read_sql
from modelship.scheduler.store import filesystem
from modelship.settings import Settings

FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
FORMATS[".parquet"] = "parquet"
MEDIA = {"text/csv": "csv", "application/json": "json", "application/x-ndjson": "jsonl"}
MEDIA["application/jsonl"] = "jsonl"
MEDIA["application/vnd.apache.parquet"] = "parquet"


@dataclass(frozen=True)
class Input:
    table: pa.Table
    line_of: str  # how a row is numbered: "line" (CSV, JSON Lines) or "record"/"row"
    first_line: int  # the number of the first row (CSV: 2, after its header)


def file_format(name: str, media: str | None) -> str:
    ext = os.path.splitext(name.lower())[1]
    fmt = FORMATS.get(ext) or MEDIA.get((media or "").split(";")[0].strip())
    if fmt is None:
        raise InputError(
            "file", f"{name!r}: unknown format; send .csv, .json, .jsonl or .parquet", 415
        )
    return fmt


def _column(values: list) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # mixed types: checked as text
        text = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        return pa.array(text, pa.string())


def _records(records: list, field: str, line_of: str, first: int) -> Input:
    names: dict[str, None] = {}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise InputError(field, f"{line_of} {first + i}: not a JSON object (a record)")
        names.update(dict.fromkeys(record))
    columns = {n: _column([r.get(n) for r in records]) for n in names}
    return Input(pa.table(columns), line_of, first)


def parse(data: bytes, fmt: str, field: str = "file") -> Input:
    """The rows of ``data`` in format ``fmt``; an unreadable file is a 422 naming ``field``."""
    try:
        if fmt == "csv":
            table = pyarrow.csv.read_csv(io.BytesIO(data))
            return Input(table, "line", 2)
        if fmt == "parquet":
            return Input(pq.read_table(io.BytesIO(data)), "row", 1)
        if fmt == "json":
            records = json.loads(data)
            if not isinstance(records, list):
                raise InputError(field, "a JSON file must be a list of records")
            return _records(records, field, "record", 1)
        lines = data.decode("utf-8").splitlines()
        records = [json.loads(line) if line.strip() else None for line in lines]
        kept = [(i, r) for i, r in enumerate(records) if r is not None]
        if any(i != j for j, (i, _r) in enumerate(kept)):  # blank lines: keep the numbering
            raise InputError(field, "blank lines in JSON Lines; one record per line")
        return _records([r for _i, r in kept], field, "line", 1)
    except InputError:
        raise
    except (pa.ArrowException, ValueError, UnicodeDecodeError) as exc:
        raise InputError(field, f"not a readable {fmt.upper()} file: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _allowed(path: str, settings: Settings) -> str:
    real = os.path.realpath(path)
    for folder in settings.input_folders:
        root = os.path.realpath(folder)
        if real == root or real.startswith(root.rstrip("/") + "/"):
            return real
    raise InputError("input_uri", f"{path!r} is not under a folder the platform may read", 403)


def _in_results(uri: str, settings: Settings) -> bool:
    """Other accounts' inputs and results live there: never readable through a job."""
    results = settings.results_url.rstrip("/")
    if results.startswith("s3://"):
        return uri == results or uri.startswith(results + "/")
    if urlparse(uri).scheme not in ("", "file"):
        return False
    root = os.path.realpath(results.removeprefix("file://"))
    path = os.path.realpath(uri.removeprefix("file://"))
    return path == root or path.startswith(root + "/")


def read_uri(uri: str, settings: Settings) -> Input:
    """The rows at ``uri``: s3://, a local path under INPUT_FOLDERS, or sql://."""
    scheme = urlparse(uri).scheme
    if scheme == "sql":
        table = read_sql(uri, settings)
        return Input(table, "row", 1)
    if scheme not in ("s3", "file", ""):
        raise InputError("input_uri", f"scheme {scheme!r}: use s3://, sql:// or a path", 400)
    if _in_results(uri, settings):
        raise InputError("input_uri", "the platform's results store is not an input", 403)
    fmt = file_format(uri, None)
    if scheme == "s3":
        fs, path = filesystem(uri, settings)
    else:
        fs, path = pyarrow.fs.LocalFileSystem(), _allowed(uri.removeprefix("file://"), settings)
    try:
        with fs.open_input_file(path) as f:
            data = f.read()
    except FileNotFoundError:
        raise InputError("input_uri", f"{uri!r} does not exist", 404) from None
    except OSError as exc:
        if "NoSuchKey" in str(exc) or "NoSuchBucket" in str(exc) or "not found" in str(exc):
            raise InputError("input_uri", f"{uri!r} does not exist", 404) from None
        raise InputError("input_uri", f"{uri!r} cannot be read: {_first_line(exc)}", 400) from None
    return parse(data, fmt, "input_uri")
