"""Run the model off the event loop, with the timeout, error classes and metrics of the service."""

import asyncio
import logging
import time
from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException
from starlette.concurrency import run_in_threadpool

from .errors import InvalidInput, PredictionFailed, PredictionTimeout
from .metrics import (
    MODEL_CALL_ROWS,
    MODEL_CALLS,
    PREDICTION_ERRORS,
    PREDICTION_LATENCY,
    PREDICTION_ROWS,
    PREDICTIONS,
)
from .microbatch import BatchingPolicy, MicroBatcher, batching_policy
from .model import ServedModel
from .schema import count_rows
from .settings import Settings

log = logging.getLogger(__name__)
_SCHEMA_ERROR_CODES = {"INVALID_PARAMETER_VALUE", "BAD_REQUEST"}


class Predictor:
    """The one way routes call the model: `await predictor.predict(data, route, rows)`."""

    def __init__(self, model: ServedModel, settings: Settings, card: dict[str, Any] | None) -> None:
        self.model = model
        self.timeout_s = settings.request_timeout_s
        self.batching: BatchingPolicy = batching_policy(
            settings.micro_batching, model.flavors, card
        )
        log.info(
            "micro-batching %s", "on" if self.batching.enabled else "off",
            extra={"micro_batching": self.batching.enabled, "reason": self.batching.reason},
        )  # fmt: skip
        self.batcher = (
            MicroBatcher(self._predict, settings.max_batch_size, settings.max_batch_delay_ms)
            if self.batching.enabled
            else None
        )

    def _predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """The model's own predict, counted (one call may score a whole micro-batch)."""
        MODEL_CALLS.inc()
        MODEL_CALL_ROWS.observe(count_rows(data))
        return self.model.predict(data, params)

    async def _call(self, data: Any, params: dict[str, Any] | None, batchable: bool) -> Any:
        if batchable and self.batcher is not None and isinstance(data, pd.DataFrame):
            return await self.batcher.submit(data)
        return await run_in_threadpool(self._predict, data, params)

    async def predict(
        self,
        data: Any,
        route: str,
        rows: int,
        params: dict[str, Any] | None = None,
        batchable: bool = False,
    ) -> tuple[Any, float]:
        """The raw output and the seconds it took; raises the service's error classes."""
        started = time.perf_counter()
        try:
            raw = await asyncio.wait_for(self._call(data, params, batchable), self.timeout_s)
        except TimeoutError:
            PREDICTION_ERRORS.labels(route, "timeout").inc()
            raise PredictionTimeout(
                f"the prediction took longer than REQUEST_TIMEOUT_S={self.timeout_s:g} s"
            ) from None
        except MlflowException as exc:
            if exc.error_code not in _SCHEMA_ERROR_CODES:
                raise self._failed(route) from exc
            PREDICTION_ERRORS.labels(route, "invalid").inc()
            raise InvalidInput(
                f"the model's schema rejects the input: {exc.message[:500]}"
            ) from exc
        except ValueError as exc:  # the model's own input checks (sklearn: NaN, inf, shapes)
            PREDICTION_ERRORS.labels(route, "invalid").inc()
            first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise InvalidInput(f"the model rejected the input: {first_line}") from exc
        except Exception as exc:
            raise self._failed(route) from exc
        elapsed = time.perf_counter() - started
        PREDICTIONS.labels(route).inc()
        PREDICTION_ROWS.labels(route).inc(rows)
        PREDICTION_LATENCY.labels(route).observe(elapsed)
        return raw, elapsed

    def _failed(self, route: str) -> PredictionFailed:
        PREDICTION_ERRORS.labels(route, "model").inc()
        log.exception("the model raised while predicting")
        return PredictionFailed("the model failed on this input; the log has the details")

    async def close(self) -> None:
        """Finish what the micro-batcher holds and stop its thread."""
        if self.batcher is not None:
            await self.batcher.close()
