"""`POST /predict` (one typed record) and `POST /predict/batch` (a JSON list or CSV)."""

import csv
import io
import json
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from ..errors import BadInput, TooManyRows, UnsupportedMediaType
from ..model import ServedModel
from ..outputs import answer_rows
from ..predictor import Predictor
from ..responses import JSONBytes
from ..schema import build_record_model, records_to_input
from ..validation import InputLimits


class ModelRef(BaseModel):
    name: str = Field(description="Registered model name")
    version: str = Field(description="Model version (registry version, or run-<id>)")


class PredictionAnswer(BaseModel):
    prediction: Any = Field(description="The model's output for the record, post-processed")
    model: ModelRef
    prediction_time_ms: float = Field(description="Time the model took, in milliseconds")


class PredictionsAnswer(BaseModel):
    predictions: list[Any] = Field(description="One output per record, in request order")
    model: ModelRef
    prediction_time_ms: float = Field(description="Time the model took, in milliseconds")


def _answer(model: ServedModel, key: str, value: Any, seconds: float) -> JSONBytes:
    return JSONBytes(
        {
            key: value,
            "model": {"name": model.name, "version": model.version},
            "prediction_time_ms": round(seconds * 1000, 3),
        }
    )


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    """CSV with a header row; empty cells mean 'not given' (optional columns)."""
    try:
        reader = csv.DictReader(io.StringIO(body.decode("utf-8")), strict=True)
        rows = [{k: v for k, v in row.items() if v != ""} for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(f"malformed CSV: {exc}") from None
    if any(None in row for row in rows):
        raise BadInput("malformed CSV: a row has more cells than the header has columns")
    return rows


def _json_rows(body: bytes) -> list[Any]:
    try:
        rows = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:  # NaN and Infinity are not JSON, but clients send them: the checks name the field
            rows = json.loads(body)
        except (ValueError, RecursionError):
            raise BadInput(f"malformed JSON: {exc}") from None
    if not isinstance(rows, list):
        raise RequestValidationError(
            [{"type": "list_type", "loc": ("body",), "msg": "expected a JSON list of records"}]
        )
    return rows


def build_predict_router(
    model: ServedModel, predictor: Predictor, max_rows: int, limits: InputLimits
) -> APIRouter:
    """The prediction routes, typed by the model's signature."""
    record_model = build_record_model(model.signature, model.input_example, limits)
    many = TypeAdapter(list[record_model])
    router = APIRouter(tags=["predictions"])
    list_schema = many.json_schema(ref_template="#/components/schemas/{model}")
    list_schema.pop("$defs", None)  # FastAPI publishes Record itself (from /predict)
    batch_body = {
        "required": True,
        "content": {
            "application/json": {"schema": list_schema},
            "text/csv": {"schema": {"type": "string", "description": "CSV with a header row"}},
        },
    }

    @router.post(
        "/predict", summary="Score one record", responses={200: {"model": PredictionAnswer}}
    )
    async def predict(record: Annotated[record_model, Body()]) -> JSONBytes:  # type: ignore[valid-type]
        data = records_to_input([record], model.signature)
        raw, seconds = await predictor.predict(data, "/predict", 1, batchable=True)
        return _answer(model, "prediction", answer_rows(raw)[0], seconds)

    @router.post(
        "/predict/batch",
        summary=f"Score up to {max_rows} records (JSON list or text/csv)",
        openapi_extra={"requestBody": batch_body},
        responses={200: {"model": PredictionsAnswer}},
    )
    async def predict_batch(request: Request) -> JSONBytes:
        media = request.headers.get("content-type", "application/json").split(";")[0].strip()
        body = await request.body()
        if media == "text/csv":
            rows: list[Any] = _csv_rows(body)
        elif media in ("application/json", ""):
            rows = _json_rows(body)
        else:
            raise UnsupportedMediaType(f"use application/json or text/csv, not {media!r}")
        if len(rows) > max_rows:
            raise TooManyRows(f"{len(rows)} rows is more than MAX_REQUEST_ROWS={max_rows}")
        if not rows:
            raise RequestValidationError(
                [{"type": "too_short", "loc": ("body",), "msg": "at least one record is needed"}]
            )
        try:
            records = many.validate_python(rows)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        data = records_to_input(records, model.signature)
        raw, seconds = await predictor.predict(data, "/predict/batch", len(records), batchable=True)
        return _answer(model, "predictions", answer_rows(raw), seconds)

    return router
