"""The gateway's HTTP/1.1 client to model services: keep-alive connections pooled per service.

Why not httpx: profiled at concurrency 32, httpx's layers (client, transport, pool — which polls
every idle connection on each request — anyio streams, h11) took about half the gateway's CPU.
This client does only what the gateway needs: ``POST`` a body to a URL of a loopback or
in-cluster service, read status, content type and body. Responses are parsed by ``httptools``
(C; installed with ``uvicorn[standard]``), chunked or sized.

A pooled connection the service closed while idle fails before any answer byte: that call is
sent again once on a new connection (the only retry; the model never answered it).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import urlsplit

import httptools


class UpstreamError(Exception):
    """The service could not be reached or broke the connection (a 502)."""


class UpstreamTimeout(UpstreamError):
    """No whole answer within the timeout (a 504)."""


@dataclass
class Answer:
    status_code: int = 0
    content_type: str | None = None
    content: bytes = b""
    keep_alive: bool = False
    _chunks: list[bytes] = field(default_factory=list)
    _done: bool = False
    _parser: httptools.HttpResponseParser | None = None

    # httptools callbacks
    def on_headers_complete(self) -> None:  # the parser tells keep-alive only until the end
        self.status_code = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-type":
            self.content_type = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self._done = True


class Upstream:
    def __init__(self, timeout_s: float, per_service: int = 256):
        self._timeout = timeout_s
        self._per_service = per_service
        self._idle: dict[tuple[str, int], list[tuple]] = {}

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        parts = urlsplit(url)
        service = (parts.hostname or "127.0.0.1", parts.port or 80)
        head = [f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1"]
        head += [f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            async with asyncio.timeout(self._timeout):
                return await self._exchange(service, request)
        except TimeoutError:
            raise UpstreamTimeout(f"no answer in {self._timeout:g} s") from None

    async def _exchange(self, service: tuple[str, int], request: bytes) -> Answer:
        idle = self._idle.setdefault(service, [])
        while True:
            reused = bool(idle)
            reader, writer = idle.pop() if reused else await self._connect(service)
            try:
                answer = await self._send(reader, writer, request)
            except _ClosedBeforeAnswer:
                writer.close()
                if reused:  # closed while idle: send it again on a new connection
                    continue
                raise UpstreamError("connection closed before an answer") from None
            except BaseException:  # timeout, cancellation, broken answer: never reuse it
                writer.close()
                raise
            if answer.keep_alive and len(idle) < self._per_service:
                idle.append((reader, writer))
            else:
                writer.close()
            return answer

    @staticmethod
    async def _connect(service: tuple[str, int]):
        try:
            return await asyncio.open_connection(*service)
        except OSError as exc:
            raise UpstreamError(f"{type(exc).__name__}: {exc}") from None

    @staticmethod
    async def _send(reader, writer, request: bytes) -> Answer:
        answer = Answer()
        parser = answer._parser = httptools.HttpResponseParser(answer)
        first = True
        try:
            writer.write(request)
            await writer.drain()
            while not answer._done:
                data = await reader.read(65536)
                if not data:
                    if first:
                        raise _ClosedBeforeAnswer
                    raise UpstreamError("connection closed mid-answer")
                first = False
                parser.feed_data(data)
        except (ConnectionError, OSError) as exc:
            if first:
                raise _ClosedBeforeAnswer from exc
            raise UpstreamError(f"{type(exc).__name__}: {exc}") from None
        except httptools.HttpParserError as exc:
            raise UpstreamError(f"a broken HTTP answer: {exc}") from None
        answer.content, answer._parser = b"".join(answer._chunks), None
        return answer

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc) -> None:
        for connections in self._idle.values():
            for _reader, writer in connections:
                with contextlib.suppress(Exception):
                    writer.close()
        self._idle.clear()


class _ClosedBeforeAnswer(Exception):
    pass
