"""`POST /invocations`: MLflow's scoring protocol, answered as `mlflow models serve` answers it.

Parsing and encoding are MLflow's own functions, so the same body gives the same predictions;
the prediction itself goes through the service's predictor (timeout, metrics, batching).
"""

import io
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request, Response
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server

from .errors import BadInput, TooManyRows, UnsupportedMediaType
from .model import ServedModel
from .predictor import Predictor
from .schema import count_rows

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
    },
}


def parse_invocation(body: bytes, content_type: str, model: ServedModel) -> tuple[Any, Any]:
    """(data, params) from an /invocations body, by MLflow's own parsers."""
    media, *parameters = (part.strip() for part in content_type.split(";"))
    options = dict(p.partition("=")[::2] for p in parameters)
    if options.get("charset", "utf-8").lower() != "utf-8" or set(options) - {"charset"}:
        raise UnsupportedMediaType(f"unsupported content type parameters in {content_type!r}")
    schema = model.pyfunc.metadata.get_input_schema()
    try:
        text = body.decode("utf-8")
        if media == "text/csv":
            return scoring_server.parse_csv_input(io.StringIO(text), schema=schema), None
        if media == "application/json":
            parsed = scoring_server._parse_json_data(text, model.pyfunc.metadata, schema)
            return parsed.data, parsed.params
    except UnicodeDecodeError:
        raise BadInput("the body is not valid UTF-8") from None
    except MlflowException as exc:
        raise BadInput(exc.message[:1000]) from None
    except Exception as exc:  # MLflow's parsers raise many kinds on odd shapes
        raise BadInput(f"malformed body: {type(exc).__name__}: {exc}"[:1000]) from None
    raise UnsupportedMediaType(f"use application/json or text/csv, not {media!r}")


def build_invocations_router(model: ServedModel, predictor: Predictor, max_rows: int) -> APIRouter:
    router = APIRouter(tags=["mlflow"])

    @router.post(
        "/invocations",
        summary="MLflow scoring protocol (drop-in for mlflow models serve)",
        openapi_extra={"requestBody": _BODY},
    )
    async def invocations(request: Request) -> Response:
        content_type = request.headers.get("content-type", "application/json")
        data, params = parse_invocation(await request.body(), content_type, model)
        rows = count_rows(data)
        if rows > max_rows:
            raise TooManyRows(f"{rows} rows is more than MAX_BATCH_ROWS={max_rows}")
        batchable = isinstance(data, pd.DataFrame) and not params
        raw, _ = await predictor.predict(data, "/invocations", rows, params, batchable)
        out = io.StringIO()
        scoring_server.predictions_to_json(raw, out)
        return Response(out.getvalue(), media_type="application/json")

    return router
