"""The metered routes served ahead of FastAPI's routing: the gateway's hot path.

Profiled at concurrency 32, FastAPI's routing and request handling (matching every route's
pattern, the endpoint wrapper, dependency solving) and Starlette's exception middleware took
about a quarter of the gateway's CPU per call, for routes that need none of it: a metered call
is a path, a few headers and a body in, a status, headers and a body out. This pure ASGI
middleware answers the three metered routes itself with the same code (``gateway.metered``)
and hands everything else to the app. The routes stay declared in ``gateway.router``, so
``/openapi.json`` still documents them; an error is the same ``{"detail": ...}`` body FastAPI
gives, with the exception's headers.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from modelship.billing.gateway import ROUTES, metered

METERED = re.compile(r"^/v1/models/([^/]+)/(" + "|".join(map(re.escape, ROUTES)) + r")$")


class MeteredFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = None
        if scope["type"] == "http" and scope["method"] == "POST":
            found = METERED.match(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await metered(found[1], found[2], Request(scope, receive))
        except HTTPException as exc:
            response = JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        await response(scope, receive, send)
