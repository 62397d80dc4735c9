"""The load generator: `wrk` (Debian's) with a Lua script that POSTs a body file."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

LUA = Path(__file__).with_name("post.lua")


def ensure_wrk() -> str:
    """The path of `wrk`, installed with apt-get when missing; exits with a reason if it can't."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("bench: installing wrk with apt-get", file=sys.stderr)
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(command, check=False, timeout=600, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit(
        "bench: `wrk` is not installed and could not be installed here; "
        "install the Debian package `wrk` (sudo apt-get install wrk) and run again"
    )


def run_wrk(
    url: str,
    body: Path,
    connections: int,
    seconds: float,
    content_type: str = "application/json",
    authorization: str | None = None,
) -> dict[str, float]:
    """requests/s, p50/p90/p99 (ms) and error counts of one closed-loop wrk run."""
    command = [
        ensure_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        str(body),
        content_type,
        *([authorization] if authorization else []),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    raw = json.loads(lines[-1])
    duration = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in raw if k.endswith("errors") or k == "timeouts")
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / duration, 1) if duration else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": round(raw["mean_us"] / 1000, 3),
        "errors": errors,
        "status_errors": raw["status_errors"],
    }


class Poster:
    """POSTs one body to one URL over one keep-alive connection; raises on a non-200."""

    def __init__(self, url: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self.url, self.path, self.body = url, parts.path, body
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def __call__(self) -> None:
        self.connection.request("POST", self.path, self.body, self.headers)
        response = self.connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{self.url} answered {response.status}")

    def close(self) -> None:
        self.connection.close()


def interleaved(
    url: str,
    body: bytes,
    reference: Callable[[], object],
    pairs: int,
    headers: dict[str, str] | None = None,
    run: int = 1,
) -> dict:
    """p50 of one keep-alive POST and of `reference()` (the in-process floor, or a direct
    call), call for call, or `run` calls of one then `run` of the other.

    On a shared machine the speed drifts by tens of percent within seconds; timing the two one
    after the other, pair by pair, puts both under the same conditions, so their ratio is the
    service's own overhead rather than the noise between two separate runs. Runs of a few calls
    keep that, while each call follows one of its own kind, as in a client's stream of calls.
    """
    served, floor = [], []
    post = Poster(url, body, headers)
    try:
        for index in range(0, pairs + 10, run):  # the first ten warm up and are dropped
            for timed, call in ((served, post), (floor, reference)):
                for _ in range(run):
                    started = time.perf_counter()
                    call()
                    if index >= 10:
                        timed.append((time.perf_counter() - started) * 1000)
    finally:
        post.close()
    return {
        "p50_ms": round(statistics.median(served), 3),
        "floor_p50_ms": round(statistics.median(floor), 3),
        "pairs": len(served),
    }
