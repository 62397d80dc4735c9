"""Error classes of the service and the JSON answers they become (no stack trace in a body)."""

from fastapi import FastAPI, Request

from .logs import request_id_var
from .responses import JSONBytes


class ServiceError(Exception):
    """An error with an HTTP status and a message that is safe to show the caller."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(ServiceError):
    """The body cannot be parsed (malformed JSON or CSV, unsupported content type)."""

    status_code = 400


class InvalidInput(ServiceError):
    """The body parsed but the model's schema rejects it."""

    status_code = 422


class TooManyRows(ServiceError):
    status_code = 413


class UnsupportedMediaType(ServiceError):
    status_code = 415


class PredictionFailed(ServiceError):
    """The model raised; the cause goes to the log, not to the caller."""

    status_code = 500


class PredictionTimeout(ServiceError):
    status_code = 504


async def _service_error(request: Request, exc: ServiceError) -> JSONBytes:
    body = {"detail": exc.message, "request_id": request_id_var.get()}
    return JSONBytes(body, status_code=exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
