"""Rows in a request body, for the per-row price: every content type the model service accepts.

``/predict`` scores one JSON record; ``/predict/batch`` a JSON list or CSV with a header row;
``/invocations`` MLflow's ``dataframe_split``/``dataframe_records``/``instances``/``inputs`` or CSV.
"""

from __future__ import annotations

import json


class BodyError(ValueError):
    """A body whose rows cannot be counted (so it cannot be priced)."""


def _csv_rows(body: bytes) -> int:
    lines = [line for line in body.decode("utf-8", "replace").splitlines() if line.strip()]
    return max(len(lines) - 1, 0)


def _json_rows(route: str, parsed: object) -> int:
    if route == "predict":
        return 1
    if isinstance(parsed, list):
        return len(parsed)
    if route == "invocations" and isinstance(parsed, dict):
        for key in ("dataframe_split", "dataframe_records", "instances", "inputs"):
            value = parsed.get(key)
            if key == "dataframe_split" and isinstance(value, dict):
                return len(value.get("data") or [])
            if isinstance(value, list):
                return len(value)
            if isinstance(value, dict) and value:  # columns -> lists
                first = next(iter(value.values()))
                return len(first) if isinstance(first, list) else 1
    raise BodyError(f"body: cannot count the rows of this {route} request")


def count_rows(route: str, content_type: str, body: bytes) -> int:
    media = content_type.split(";")[0].strip().lower() or "application/json"
    if media == "text/csv" and route != "predict":
        return _csv_rows(body)
    if media != "application/json":
        raise BodyError(f"content-type: use application/json or text/csv, not {media!r}")
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise BodyError(f"body: not valid JSON ({exc})") from None
    return _json_rows(route, parsed)
