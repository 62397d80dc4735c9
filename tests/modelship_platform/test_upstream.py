"""The gateway's upstream client against real servers on loopback."""

from __future__ import annotations

import asyncio
import time

import pytest
from modelship.billing.upstream import Upstream, UpstreamError, UpstreamTimeout
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from modelship_platform.conftest import PUBLIC
from modelship_platform.postgres import free_port
from modelship_platform.upstream import instant_app, serve_in_thread

JSON = {"Content-Type": "application/json", "X-Request-ID": "r1"}


def post(client: Upstream, url: str, body: bytes = b'{"x": 1}'):
    return asyncio.run(_post(client, url, body))


async def _post(client, url, body):
    async with client:
        return await client.post(url, body, JSON)


def test_answers_and_keeps_connections_the_service_closed_while_idle_working():
    # The service drops idle keep-alive connections after 1 s: the pooled one is stale.
    with serve_in_thread(instant_app(PUBLIC), timeout_keep_alive=1) as url:

        async def twice():
            async with Upstream(timeout_s=5) as client:
                first = await client.post(f"{url}/predict", b'{"x": 1}', JSON)
                assert [len(idle) for idle in client._idle.values()] == [1]  # kept alive
                await asyncio.sleep(1.5)
                second = await client.post(f"{url}/predict/batch", b"[{}, {}]", JSON)
                return first, second

        first, second = asyncio.run(twice())
    assert (first.status_code, first.content) == (200, b'{"predictions":[0]}')
    assert first.content_type == "application/json"
    assert (second.status_code, second.content) == (200, b'{"predictions":[0,0]}')


def test_chunked_answers_are_read_whole():
    async def stream(_):
        async def parts():
            for part in (b"a,b\n", b"1,2\n", b"3,4\n"):
                yield part

        return StreamingResponse(parts(), media_type="text/csv")

    app = Starlette(routes=[Route("/predict", stream, methods=["POST"])])
    with serve_in_thread(app) as url:
        answer = post(Upstream(timeout_s=5), f"{url}/predict")
    assert answer.content == b"a,b\n1,2\n3,4\n" and answer.content_type.startswith("text/csv")


def test_unreachable_and_slow_services():
    with pytest.raises(UpstreamError):
        post(Upstream(timeout_s=5), f"http://127.0.0.1:{free_port()}/predict")
    with serve_in_thread(instant_app(PUBLIC)) as url:
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            post(Upstream(timeout_s=0.3), f"{url}/predict", b'{"sleep": 2}')
        assert time.monotonic() - started < 1.5
