"""Prometheus metrics: HTTP metrics from the instrumentator, plus the model's own."""

from fastapi import FastAPI
from prometheus_client import Counter, Gauge, Histogram
from prometheus_fastapi_instrumentator import Instrumentator

PREDICTIONS = Counter("modelship_predictions", "Prediction calls answered.", ["route"])
PREDICTION_ROWS = Counter("modelship_prediction_rows", "Rows scored.", ["route"])
PREDICTION_ERRORS = Counter(
    "modelship_prediction_errors", "Prediction calls that failed.", ["route", "kind"]
)
PREDICTION_LATENCY = Histogram(
    "modelship_prediction_latency_seconds",
    "Time spent in the model per call (queueing for a micro-batch included).",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MODEL_CALLS = Counter("modelship_model_calls", "Calls of the model's predict (micro-batches).")
MODEL_CALL_ROWS = Histogram(
    "modelship_model_call_rows",
    "Rows per call of the model's predict (above 1 for /predict: micro-batching at work).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096),
)
MODEL_INFO = Gauge(
    "modelship_model_info",
    "The model being served (value 1), by name and version.",
    ["name", "version"],
    multiprocess_mode="max",
)


def instrument(app: FastAPI) -> None:
    """HTTP metrics for every route and `GET /metrics` (multiprocess-aware when
    PROMETHEUS_MULTIPROC_DIR is set, as it is with several workers)."""
    Instrumentator(excluded_handlers=["/metrics"]).instrument(app).expose(
        app, endpoint="/metrics", include_in_schema=True, tags=["operations"]
    )
