"""make bench-gateway: wrk on loopback, direct to a model service vs through the billing gateway
on PostgreSQL (hold + proxy + capture per call). Writes bench/results/gateway.md.

The model here is an instant one (the tests' upstream), so the figures are the gateway's own
cost and capacity; DURATION_S (default 10) sets the seconds per point.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from modelship_platform.postgres import free_port, postgres_server

DURATION = int(os.environ.get("DURATION_S", "10"))
UPSTREAM = """
import uvicorn, sys
sys.path.insert(0, {tests!r})
from modelship_platform.conftest import PUBLIC
from modelship_platform.upstream import instant_app
uvicorn.run(instant_app(PUBLIC), host="127.0.0.1", port={port}, log_level="warning")
"""
LUA = """wrk.method = "POST"
wrk.body = '{{"x": 1}}'
wrk.headers["Content-Type"] = "application/json"
{auth}"""


def _wait(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def _wrk(url: str, conns: int, script: Path) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "1" if conns == 1 else "2",
            "-c",
            str(conns),
            "-d",
            f"{DURATION}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "p50": ms("50%"),
        "p99": ms("99%"),
        "rps": rps,
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used: a figure the machine's load moves less
    than wall-clock throughput."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    procs = []
    tmp = Path(tempfile.mkdtemp(prefix="modelship-bench-"))
    os.chmod(tmp, 0o755)
    with postgres_server(tmp / "pg") as db_url:
        try:
            up_port, gw_port = free_port(), free_port()
            code = UPSTREAM.format(tests=str(ROOT / "tests"), port=up_port)
            procs.append(subprocess.Popen([sys.executable, "-c", code]))
            upstream = f"http://127.0.0.1:{up_port}"
            _wait(f"{upstream}/info")
            admin_key = uuid.uuid4().hex
            env = {
                **os.environ,
                "MODELSHIP_DATABASE_URL": db_url,
                "MODELSHIP_MODELS": upstream,
                "MODELSHIP_ADMIN_KEY": admin_key,
                "MODELSHIP_PORT": str(gw_port),
            }
            procs.append(
                subprocess.Popen(
                    [str(Path(sys.executable).parent / "modelship"), "billing"],
                    env=env,
                    stderr=subprocess.DEVNULL,
                )
            )
            gw = f"http://127.0.0.1:{gw_port}"
            _wait(f"{gw}/health/live")
            admin = httpx.Client(base_url=gw, headers={"Authorization": f"Bearer {admin_key}"})
            admin.post("/v1/accounts", json={"name": "bench", "role": "consumer"})
            key = admin.post("/v1/accounts/bench/keys").json()["key"]
            admin.post(
                "/v1/accounts/bench/topups",
                json={"amount": "1000000"},
                headers={"Idempotency-Key": "bench"},
            )
            direct_lua, gw_lua = tmp / "direct.lua", tmp / "gw.lua"
            direct_lua.write_text(LUA.format(auth=""))
            gw_lua.write_text(LUA.format(auth=f'wrk.headers["Authorization"] = "Bearer {key}"'))
            results = {}
            for conns in (1, 32):
                results[("direct", conns)] = _wrk(f"{upstream}/predict", conns, direct_lua)
                cpu_before = _cpu_s(procs[-1].pid)
                gateway = _wrk(f"{gw}/v1/models/fraud-a/predict", conns, gw_lua)
                calls = gateway["rps"] * DURATION
                gateway["cpu_ms"] = (_cpu_s(procs[-1].pid) - cpu_before) * 1000 / calls
                results[("gateway", conns)] = gateway
            time.sleep(2)  # calls wrk left in flight settle (captured, or released if cut)
            books = admin.get("/v1/admin/ledger").json()
        finally:
            for p in procs:
                p.terminate()
                p.wait(10)
    write(results, books)


def write(results: dict, books: dict) -> None:
    d1, g1 = results[("direct", 1)], results[("gateway", 1)]
    d32, g32 = results[("direct", 32)], results[("gateway", 32)]
    lines = [
        "# Billing gateway overhead (make bench-gateway)",
        "",
        (
            f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}, "
            f"load average {os.getloadavg()[0]:.2f}; PostgreSQL 15 on loopback; "
            f"{DURATION} s per point; an instant model (the gateway's own cost)."
        ),
        "",
        "| path | c | p50 ms | p99 ms | req/s | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for (path, c), r in results.items():
        lines.append(
            f"| {path} | {c} | {r['p50']:.2f} | {r['p99']:.2f} | {r['rps']:.0f} | {r['errors']} |"
        )
    lines += [
        "",
        f"- added p50 at c=1: {g1['p50'] - d1['p50']:.2f} ms (floor <= 2 ms)",
        f"- gateway/direct req/s at c=32: {g32['rps'] / d32['rps']:.2f} (floor >= 0.7)",
        f"- metered calls/s (hold + capture) at c=32: {g32['rps']:.0f} (floor >= 1,500)",
        (
            f"- gateway process CPU per metered call: {g1['cpu_ms']:.2f} ms at c=1, "
            f"{g32['cpu_ms']:.2f} ms at c=32 (1,500 calls/s needs under 0.67 ms on one core)"
        ),
        f"- ledger after the run: {books}",
    ]
    out = ROOT / "bench" / "results" / "gateway.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
