"""Adaptive micro-batching: concurrent requests scored in one model call, answered one by one.

A request that finds the model idle goes straight through (no timer). Requests that arrive
while the model is busy queue up and are scored together as soon as it is free. Once load has
shown that several requests come together, a request on an idle model waits up to
`max_delay_ms` for as many companions as the last batch had, never longer.

Only frames with the same columns and dtypes share a batch. Batching is sound only for a model
that scores each row on its own: `batching_policy` turns it on for row-wise estimator flavours
or a card that declares it, never for a model that may look across the rows of a request (MLflow's
contract: `predict` sees exactly the request's rows). If a batch fails, it is split in halves
until the requests that break it are found, so a bad request costs a few extra calls and fails
alone, while the others keep their answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

#: MLflow flavours whose models score each row independently of the others.
ROW_WISE_FLAVORS = ("sklearn", "xgboost", "lightgbm", "catboost", "onnx")
ROW_INDEPENDENT = "modelship.io/row-independent"


@dataclass(frozen=True)
class BatchingPolicy:
    enabled: bool
    reason: str


def batching_policy(mode: str, flavors: tuple[str, ...], card: dict | None) -> BatchingPolicy:
    """Whether concurrent requests may share a model call (MICRO_BATCHING), and why."""
    if mode in ("on", "off"):
        return BatchingPolicy(mode == "on", f"MICRO_BATCHING={mode}")
    row_wise = [flavor for flavor in flavors if flavor in ROW_WISE_FLAVORS]
    if row_wise:
        return BatchingPolicy(True, f"auto: the {row_wise[0]} flavour scores rows independently")
    annotations = ((card or {}).get("metadata") or {}).get("annotations") or {}
    if str(annotations.get(ROW_INDEPENDENT, "")).lower() == "true":
        return BatchingPolicy(True, f"auto: the model card declares {ROW_INDEPENDENT}")
    return BatchingPolicy(
        False,
        f"auto: no row-wise flavour ({', '.join(ROW_WISE_FLAVORS)}) and the card does not "
        f'declare {ROW_INDEPENDENT}: "true", so each request is scored alone',
    )


@dataclass(eq=False)
class _Request:
    frame: pd.DataFrame
    future: asyncio.Future[Any]

    @cached_property
    def key(self) -> tuple:
        """What a frame must share with another to be scored in one call (computed only when
        there is another: a lone request does not pay for it)."""
        return tuple(zip(self.frame.columns, map(str, self.frame.dtypes), strict=True))


def _row_count(output: Any) -> int | None:
    if isinstance(output, dict):
        lengths = {_row_count(value) for value in output.values()}
        return lengths.pop() if len(lengths) == 1 else None
    try:
        return len(output)
    except TypeError:
        return None


def _take(output: Any, start: int, stop: int) -> Any:
    """Rows start..stop of a model output, in the type the model returned."""
    if isinstance(output, pd.DataFrame | pd.Series):
        return output.iloc[start:stop].reset_index(drop=True)
    if isinstance(output, dict):
        return {name: _take(value, start, stop) for name, value in output.items()}
    if isinstance(output, np.ndarray | list | tuple):
        return output[start:stop]
    raise TypeError(f"cannot split a model output of type {type(output).__name__}")


class MicroBatcher:
    """Scores frames submitted concurrently in as few `predict_fn` calls as it safely can."""

    def __init__(
        self,
        predict_fn: Callable[[pd.DataFrame], Any],
        max_batch_size: int,
        max_delay_ms: float,
    ) -> None:
        if max_batch_size < 1 or max_delay_ms < 0:
            raise ValueError("max_batch_size must be >= 1 and max_delay_ms >= 0")
        self._predict = predict_fn
        self._max_rows = max_batch_size
        self._max_delay = max_delay_ms / 1000
        self._queue: deque[_Request] = deque()
        # One thread: the model is called by one batch at a time, off the event loop.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self._worker: asyncio.Task[None] | None = None
        self._last_batch_requests = 1
        self._wakeup: asyncio.Event | None = None
        self._closed = False

    async def submit(self, frame: pd.DataFrame) -> Any:
        """The predictions for `frame` (its own rows only), scored together with its neighbours."""
        if self._closed:
            raise RuntimeError("the micro-batcher is closed")
        loop = asyncio.get_running_loop()
        request = _Request(frame, loop.create_future())
        self._queue.append(request)
        if self._wakeup is not None:
            self._wakeup.set()
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run())
        return await request.future

    async def close(self) -> None:
        """Refuse new frames, score the ones already queued, then stop the thread."""
        self._closed = True
        try:
            if self._worker is not None:
                await self._worker
        finally:
            while self._queue:
                request = self._queue.popleft()
                if not request.future.done():
                    request.future.set_exception(RuntimeError("the service is shutting down"))
            self._executor.shutdown(wait=False)

    async def _run(self) -> None:
        while self._queue:
            await self._gather_companions()
            batch = self._next_batch()
            if batch:
                self._last_batch_requests = len(batch)
                await self._score(batch)

    async def _gather_companions(self) -> None:
        """Let requests that were already on their way join; wait only when load says so."""
        await asyncio.sleep(0)
        if self._last_batch_requests <= 1 or self._max_delay == 0:
            return
        deadline = time.monotonic() + self._max_delay
        while len(self._queue) < self._last_batch_requests and self._queued_rows() < self._max_rows:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wakeup = asyncio.Event()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return
            finally:
                self._wakeup = None

    def _queued_rows(self) -> int:
        return sum(len(request.frame) for request in self._queue)

    def _next_batch(self) -> list[_Request]:
        """The oldest request and every queued one shaped like it, up to the row limit."""
        batch: list[_Request] = []
        rows = 0
        kept: deque[_Request] = deque()
        while self._queue:
            request = self._queue.popleft()
            if request.future.done():  # cancelled by a timeout while it waited
                continue
            fits = not batch or (
                request.key == batch[0].key and rows + len(request.frame) <= self._max_rows
            )
            if fits:
                batch.append(request)
                rows += len(request.frame)
            else:
                kept.append(request)
        self._queue = kept
        return batch

    async def _score(self, batch: list[_Request]) -> None:
        loop = asyncio.get_running_loop()
        if len(batch) == 1:
            await self._score_alone(batch[0], loop)
            return
        frame = pd.concat([request.frame for request in batch], ignore_index=True)
        try:
            output = await loop.run_in_executor(self._executor, self._predict, frame)
        except Exception:
            output = None
        if output is None or _row_count(output) != len(frame):
            middle = len(batch) // 2  # find the requests that break the batch by halving it
            await self._score(batch[:middle])
            await self._score(batch[middle:])
            return
        start = 0
        for request in batch:
            stop = start + len(request.frame)
            if not request.future.done():
                request.future.set_result(_take(output, start, stop))
            start = stop

    async def _score_alone(self, request: _Request, loop: asyncio.AbstractEventLoop) -> None:
        try:
            output = await loop.run_in_executor(self._executor, self._predict, request.frame)
        except Exception as error:
            if not request.future.done():
                request.future.set_exception(error)
            return
        if not request.future.done():
            request.future.set_result(output)
