"""Limits enforced before any work: body size while it streams in, header size, count and time.

`BodyLimit` is ASGI middleware: a declared Content-Length above the limit is refused before a
byte of the body is read, and a chunked body is counted as it arrives and cut off at the limit,
so an oversized request never sits in memory. `LimitedHttpTools` is uvicorn's httptools
protocol with what httptools itself does not bound: the bytes and the number of header fields,
and the time a client may take to send them (a slow client cannot hold a worker's connection).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .errors import TooLarge, mlflow_style, render_error

Scope = dict[str, Any]
Message = dict[str, Any]


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies above `max_bytes` with 413, counting while they stream."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self, scope: Scope, what: str) -> Any:
        error = TooLarge(f"the request body {what} MAX_BODY_BYTES={self.max_bytes}")
        response = render_error(error, mlflow=mlflow_style(scope.get("path", "")))
        response.headers["connection"] = "close"  # the rest of the body is never read
        return response

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refusal(scope, f"of {int(declared)} bytes is larger than")(
                scope, receive, send
            )
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._refusal(scope, "is larger than")(scope, receive, send)


class LimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, bounding each request head in bytes, fields and time.

    The class attributes are set from the settings once, before the server starts.
    """

    max_header_bytes: ClassVar[int] = 16_384
    max_headers: ClassVar[int] = 100
    header_timeout_s: ClassVar[float] = 10.0

    _in_head = False
    _head_bytes = 0
    _head_fields = 0
    _head_timer: asyncio.TimerHandle | None = None

    @classmethod
    def configure(cls, max_header_bytes: int, max_headers: int, header_timeout_s: float) -> None:
        cls.max_header_bytes = max_header_bytes
        cls.max_headers = max_headers
        cls.header_timeout_s = header_timeout_s

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            # Still inside the head after this chunk: httptools holds it all in memory.
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._refuse(f"request headers larger than {self.max_header_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_head()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_fields += 1
        if self._head_fields > self.max_headers:
            # httptools turns an exception here into a parser error: uvicorn answers 400.
            raise ValueError(f"more than {self.max_headers} header fields")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_timer()
        super().on_headers_complete()

    def _start_head(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._head_fields = 0
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _stop_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(f"request headers not received within {self.header_timeout_s:g} s")

    def _refuse(self, reason: str) -> None:
        self._stop_timer()
        self.logger.warning("refused a request: %s", reason)
        self.send_400_response(f"Invalid HTTP request received: {reason}")
