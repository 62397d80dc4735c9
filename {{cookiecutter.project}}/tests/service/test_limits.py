"""Limits checked before work, over a real socket against the real server (2 workers): an
oversized body is refused before it is buffered, and request heads are bounded in bytes,
fields and time."""

import contextlib
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.test_serve import children, start

BODY_MB = 150


@pytest.fixture(scope="module")
def served(classifier_uri: str, tracking_uri: str, tmp_path_factory) -> Iterator[tuple]:
    process, url = start(
        classifier_uri, tracking_uri, tmp_path_factory.mktemp("limits"), HEADER_TIMEOUT_S="1"
    )
    yield process, url
    process.terminate()
    process.wait(30)


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _answer(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def _peak_rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines() if "VmHWM" in line))
    return total


def _send_until_answered(sock: socket.socket, head: bytes, chunk: bytes, chunks: int) -> int:
    """Send the head, then body chunks until the server answers; the bytes of body sent."""
    sock.sendall(head)
    sent = 0
    for _ in range(chunks):
        if select.select([sock], [], [], 0)[0]:
            break
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    return sent


@pytest.mark.parametrize("chunked", [False, True])
def test_a_150_mb_body_is_refused_before_it_is_read(served, chunked) -> None:
    process, url = served
    workers = children(process.pid)
    before = _peak_rss_kib(workers)
    size = BODY_MB << 20
    piece = b"[" + b"1," * ((1 << 20) // 2 - 1) + b"1]"
    if chunked:
        head = b"POST /predict/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        head += b"Transfer-Encoding: chunked\r\n\r\n"
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    else:
        head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {size}\r\n\r\n".encode()
        chunk = piece
    with _connect(url) as sock:
        sent = _send_until_answered(sock, head, chunk, BODY_MB)
        answer = _answer(sock)
    grown_mib = (_peak_rss_kib(workers) - before) / 1024
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"MAX_BODY_BYTES" in answer
    assert sent < size / 2, sent  # the server answered long before the body was all sent
    assert grown_mib < 20, grown_mib


def _head_answer(url: str, head: bytes) -> bytes:
    with _connect(url) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        return _answer(sock)


def test_a_huge_header_is_refused(served) -> None:
    _, url = served
    head = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
    assert _head_answer(url, head).startswith(b"HTTP/1.1 400")


def test_too_many_header_fields_are_refused(served) -> None:
    _, url = served
    fields = b"".join(b"X-F%d: 1\r\n" % i for i in range(150))
    head = b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n"
    assert _head_answer(url, head).startswith(b"HTTP/1.1 400")
    ok = b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fields[:300] + b"\r\n"
    assert _head_answer(url, ok).startswith(b"HTTP/1.1 200")


def test_a_client_that_sends_headers_slowly_is_cut_off(served) -> None:
    _, url = served
    with _connect(url) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        for _ in range(20):  # one header line every 0.3 s, never the blank line
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([sock], [], [], 0.3)[0]:
                break
        answer = _answer(sock)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert elapsed < 4, elapsed  # HEADER_TIMEOUT_S=1, where 6 s would pass otherwise
