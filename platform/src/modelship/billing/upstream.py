"""The pooled HTTP clients the gateway forwards calls with.

httpx's pool checks every idle connection it holds on each request (``has_expired`` polls each
socket), so one pool of many connections costs more per call the more connections it keeps:
profiled at c=32 it was the gateway's largest CPU cost. Several small pools, taken in turn,
keep that scan short while allowing as many connections in all.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Self

import httpx


class Upstream:
    def __init__(self, timeout_s: float, pools: int = 8, per_pool: int = 32):
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        self._clients = [httpx.AsyncClient(timeout=timeout_s, limits=limits) for _ in range(pools)]
        self._next = itertools.cycle(self._clients)

    async def post(self, url: str, **kwargs) -> httpx.Response:
        return await next(self._next).post(url, **kwargs)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc) -> None:
        for client in self._clients:
            with contextlib.suppress(Exception):
                await client.aclose()
