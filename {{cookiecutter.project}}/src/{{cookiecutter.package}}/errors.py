"""Error classes of the service and the JSON answers they become (no stack trace in a body).

The service's own routes answer `{"detail", "request_id"}`. `/invocations` is a drop-in for
`mlflow models serve`, so it answers as MLflow's scoring server does: its status codes (bad
input of any kind is 400, as is a model that raises on the input) and its error body
`{"error_code", "message"}`, plus our `request_id`.
"""

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError

from .logs import request_id_var
from .responses import JSONBytes

MLFLOW_PATHS = ("/invocations",)


class ServiceError(Exception):
    """An error with an HTTP status and a message that is safe to show the caller."""

    status_code = 400
    mlflow_status = 400
    mlflow_code = "BAD_REQUEST"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(ServiceError):
    """The body cannot be parsed (malformed JSON or CSV)."""


class InvalidInput(ServiceError):
    """The body parsed but the model's schema, or the model itself, rejects it."""

    status_code = 422


class TooManyRows(ServiceError):
    status_code = 413
    mlflow_status = 413
    mlflow_code = "RESOURCE_EXHAUSTED"


class TooLarge(TooManyRows):
    """The body is larger than MAX_BODY_BYTES."""


class UnsupportedMediaType(ServiceError):
    status_code = mlflow_status = 415


class PredictionFailed(ServiceError):
    """The model raised; the cause goes to the log, not to the caller. MLflow answers 400."""

    status_code = 500


class PredictionTimeout(ServiceError):
    status_code = mlflow_status = 504
    mlflow_code = "DEADLINE_EXCEEDED"


def mlflow_style(path: str) -> bool:
    """Whether errors on `path` take MLflow's scoring-server form."""
    return path in MLFLOW_PATHS


def render_error(error: ServiceError, *, mlflow: bool) -> JSONBytes:
    request_id = request_id_var.get()
    if mlflow:
        body = {"error_code": error.mlflow_code, "message": error.message}
        return JSONBytes(body | {"request_id": request_id}, status_code=error.mlflow_status)
    body = {"detail": error.message, "request_id": request_id}
    return JSONBytes(body, status_code=error.status_code)


async def _service_error(request: Request, exc: ServiceError) -> JSONBytes:
    return render_error(exc, mlflow=mlflow_style(request.url.path))


def _json_int(value: int) -> int | str:
    """An integer JSON can carry as a number (orjson stops at 64 bits), else its digits."""
    return value if -(2**63) <= value < 2**64 else str(value)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONBytes:
    """FastAPI's 422 body, encoded so that a refused NaN or Infinity cannot break it."""
    detail = jsonable_encoder(exc.errors(), custom_encoder={int: _json_int})
    body = {"detail": detail, "request_id": request_id_var.get()}
    return JSONBytes(body, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
