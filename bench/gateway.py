"""make bench-gateway: the billing gateway on PostgreSQL, wrk on loopback, in one run.

1. The demo model (baked, trained, served like `make bench` does, 2 workers): direct vs through
   the gateway (hold + proxy + capture per call) at concurrency 1 and 32: the added p50 (timed
   call for call, and in alternating runs of 10 calls) and the share of the direct requests/s
   the gateway keeps (ROUNDS alternating runs, default 3; with how the run's connections were
   spread over the model's two workers, which decides much of a micro-batching model's speed).
   The c=32 rounds run twice: with every process on every core, and with the model on a core of
   its own (``bench/cores.py``), as a cluster runs the gateway and the model in separate pods.
2. An instant model (the tests' stand-in): the gateway's own capacity in metered calls/s, and
   the CPU the gateway and PostgreSQL spend per call (steadier than wall-clock figures on a
   shared machine); then the added p50 at c=1 by how long the model keeps the gateway idle
   (the instant model sleeps as long as its body asks, using no CPU).

DURATION_S (default 10) sets the seconds per point, ROUNDS (default 3) the c=32 rounds per layout.
Writes bench/results/gateway.md (--out; --build: where the demo model is baked).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from modelship_platform.postgres import postgres_server

from bench.cores import can_split, own_cores
from bench.load import Poster, ensure_wrk, interleaved, run_wrk
from bench.run import MODES, payloads
from bench.servers import PROJECT, Server, bake, free_port, train

DURATION = int(os.environ.get("DURATION_S", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
IDLE_MS = (0, 1, 2, 4, 17)  # the demo model takes about 17 ms for one row
INSTANT = """
import uvicorn, sys
sys.path.insert(0, {tests!r})
from modelship_platform.conftest import PUBLIC
from modelship_platform.upstream import instant_app
uvicorn.run(instant_app(PUBLIC), host="127.0.0.1", port={port}, log_level="warning")
"""


def _wait(url: str) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def _cpu_s(processes: list[psutil.Process]) -> float:
    """CPU seconds (user + system) used so far by ``processes``."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _postgres_processes(port: int) -> list[psutil.Process]:
    """The server listening on ``port`` and its backends."""
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if proc.info["name"] == "postgres" and f"-p {port}" in cmdline:
            return [proc, *proc.children(recursive=True)]
    return []


def _spread(model, gateway: psutil.Process, via: bool) -> list[int]:
    """Open connections each of the model's workers holds: the gateway's (``via``) or the
    others' (wrk's, direct; the gateway's pool may still hold connections from its run)."""
    port = model.port
    pooled = {
        c.laddr.port
        for c in gateway.net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port
    }
    counts = []
    for worker in psutil.Process(model.process.pid).children():
        found = worker.net_connections(kind="tcp")
        counts.append(
            sum(
                1
                for c in found
                if c.status == psutil.CONN_ESTABLISHED
                and c.laddr.port == port
                and (c.raddr.port in pooled) == via
            )
        )
    return counts


def _run_spread(url: str, body: Path, model, gateway: psutil.Process, auth: str | None) -> dict:
    """``run_wrk`` at c=32 (through the gateway when ``auth`` is given), with the spread of its
    connections over the model's workers halfway through."""
    seen: list[list[int]] = []
    timer = threading.Timer(DURATION / 2, lambda: seen.append(_spread(model, gateway, bool(auth))))
    timer.start()
    try:
        point = run_wrk(url, body, 32, DURATION, authorization=auth)
    finally:
        timer.cancel()
    point["spread"] = seen[0] if seen else []
    return point


def _idle(via: str, direct: str, auth: str) -> dict[int, dict]:
    """Added p50 at c=1 against the instant model sleeping ``IDLE_MS`` per call: the gateway
    does the same work in each row; only how long it and PostgreSQL sat idle differs."""
    found = {}
    for ms in IDLE_MS:
        print(f"  instant model sleeping {ms} ms, c=1: direct and through the gateway", flush=True)
        body = json.dumps({"sleep": ms / 1000}).encode()
        reference = Poster(direct, body)
        try:
            found[ms] = interleaved(via, body, reference, 20 * DURATION, {"Authorization": auth})
        finally:
            reference.close()
    return found


def _key(gateway: str, admin_key: str) -> str:
    admin = httpx.Client(base_url=gateway, headers={"Authorization": f"Bearer {admin_key}"})
    admin.post("/v1/accounts", json={"name": "bench", "role": "consumer"})
    key = admin.post("/v1/accounts/bench/keys").json()["key"]
    admin.post(
        "/v1/accounts/bench/topups",
        json={"amount": "1000000"},
        headers={"Idempotency-Key": "bench"},
    )
    return key


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "gateway.md")
    args = parser.parse_args(argv)
    ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="modelship-bench-"))
    os.chmod(tmp, 0o755)
    print(f"bench-gateway: baking and training the demo model into {args.build}", flush=True)
    ws = bake(args.build)
    train(ws, *MODES["quick"]["train"])
    files = payloads(ws, (1,))
    body = files["predict-1"]
    procs: list[subprocess.Popen] = []
    results: dict[tuple[str, int], dict] = {}
    ready = files["invocations-1"].read_bytes()
    with postgres_server(tmp / "pg") as db_url, Server("ours", ws, 2, ready) as model:
        try:
            instant_port, gw_port = free_port(), free_port()
            code = INSTANT.format(tests=str(ROOT / "tests"), port=instant_port)
            procs.append(subprocess.Popen([sys.executable, "-c", code]))
            instant = f"http://127.0.0.1:{instant_port}"
            _wait(f"{instant}/info")
            admin_key = uuid.uuid4().hex
            env = {
                **os.environ,
                "MODELSHIP_DATABASE_URL": db_url,
                "MODELSHIP_MODELS": f"{model.url},{instant}",
                "MODELSHIP_ADMIN_KEY": admin_key,
                "MODELSHIP_PORT": str(gw_port),
                # capacity is measured here, not the per-key limit (1,000 calls/s by default)
                "MODELSHIP_RATE_LIMIT_PER_S": "1000000",
            }
            modelship = str(Path(sys.executable).parent / "modelship")
            gateway = subprocess.Popen([modelship, "billing"], env=env, stderr=subprocess.DEVNULL)
            procs.append(gateway)
            gw = f"http://127.0.0.1:{gw_port}"
            _wait(f"{gw}/health/live")
            metered = psutil.Process(gateway.pid)
            auth = f"Bearer {_key(gw, admin_key)}"
            via = f"{gw}/v1/models/{PROJECT}/predict"
            run_wrk(f"{model.url}/predict", body, 32, 3)  # warm up both paths
            run_wrk(via, body, 32, 3, authorization=auth)
            direct = Poster(f"{model.url}/predict", body.read_bytes())
            pairs = {}
            for run in (1, 10):
                print(f"  demo model, c=1: direct and through the gateway, {run} by {run}")
                pairs[run] = interleaved(
                    via, body.read_bytes(), direct, 30 * DURATION, {"Authorization": auth}, run
                )
            direct.close()
            print("  demo model, c=1: direct, then through the gateway", flush=True)
            results[("model direct", 1)] = run_wrk(f"{model.url}/predict", body, 1, DURATION)
            results[("model via gateway", 1)] = run_wrk(via, body, 1, DURATION, authorization=auth)
            db_port = int(db_url.rsplit(":", 1)[1].split("/")[0])
            server = [p.pid for p in _postgres_processes(db_port)[:1]]  # backends: its children
            layouts = {"": contextlib.nullcontext("every process on every core")}
            if can_split():
                layouts["own "] = own_cores([model.process.pid], [gateway.pid, *server])
            described = {}
            for layout, cores in layouts.items():
                with cores as how:
                    described[layout] = how
                    for n in range(1, ROUNDS + 1):
                        print(f"  demo model, c=32, {how}, round {n}: direct, then via gateway")
                        results[("model direct", f"32 {layout}#{n}")] = _run_spread(
                            f"{model.url}/predict", body, model, metered, None
                        )
                        results[("model via gateway", f"32 {layout}#{n}")] = _run_spread(
                            via, body, model, metered, auth
                        )
            print("  instant model, c=32: direct, then through the gateway", flush=True)
            results[("instant direct", 32)] = run_wrk(f"{instant}/predict", body, 32, DURATION)
            database = _postgres_processes(db_port)  # with the backends opened since
            before = _cpu_s([metered]), _cpu_s(database)
            instant_via = f"{gw}/v1/models/fraud-a/predict"
            point = run_wrk(instant_via, body, 32, DURATION, authorization=auth)
            calls = max(point["requests"], 1)
            point["gateway_cpu_ms"] = (_cpu_s([metered]) - before[0]) * 1000 / calls
            point["postgres_cpu_ms"] = (_cpu_s(database) - before[1]) * 1000 / calls
            results[("instant via gateway", 32)] = point
            idle = _idle(instant_via, f"{instant}/predict", auth)
            time.sleep(2)  # calls wrk left in flight settle (captured, or released if cut)
            books = httpx.get(
                f"{gw}/v1/admin/ledger", headers={"Authorization": f"Bearer {admin_key}"}
            ).json()
        finally:
            for p in procs:
                p.terminate()
                p.wait(10)
    write(args.out, results, pairs, books, described, idle)


def write(out: Path, results: dict, pairs: dict, books: dict, layouts: dict, idle: dict) -> None:
    d1, g1 = results[("model direct", 1)], results[("model via gateway", 1)]
    cap = results[("instant via gateway", 32)]
    lines = [
        "# Billing gateway overhead (make bench-gateway)",
        "",
        (
            f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}, "
            f"load average {os.getloadavg()[0]:.2f} (other work shares it); PostgreSQL 15 on "
            f"loopback (fsync off); wrk -t1 closed loop, {DURATION} s per point. The demo model "
            "is the template's, 2 workers, 1-row /predict; the instant model answers at once, so "
            "its row is the gateway's own capacity. Spread: the run's open connections per model "
            "worker halfway through (the workers share one listening socket: whichever wakes "
            "first accepts what is waiting). c=32 rounds marked own: "
            f"{layouts.get('own ', 'not run (one CPU)')}."
        ),
        "",
        "| path | c | p50 ms | p99 ms | req/s | errors | spread |",
        "|---|---|---|---|---|---|---|",
    ]
    for (path, c), r in results.items():
        spread = "/".join(map(str, r.get("spread", ())))
        lines.append(
            f"| {path} | {c} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['rps']:.0f} | "
            f"{r['errors']} | {spread} |"
        )
    lines += [""]
    for run, label in ((1, "call for call"), (10, "in alternating runs of 10 calls")):
        p = pairs[run]
        lines.append(
            f"- added p50 at c=1, timed {label} ({p['pairs']} each): "
            f"{p['p50_ms'] - p['floor_p50_ms']:.2f} ms ({p['floor_p50_ms']:.2f} ms direct, "
            f"{p['p50_ms']:.2f} ms through the gateway; floor <= 2 ms)"
        )
    lines.append(f"- wrk's separate c=1 runs above: {g1['p50_ms'] - d1['p50_ms']:.2f} ms")
    for layout, how in layouts.items():
        ratios = [
            results[("model via gateway", f"32 {layout}#{n}")]["rps"]
            / results[("model direct", f"32 {layout}#{n}")]["rps"]
            for n in range(1, ROUNDS + 1)
        ]
        lines.append(
            f"- gateway/direct req/s at c=32, {how}, median of {ROUNDS} rounds: "
            f"{statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)}; "
            "floor >= 0.7)"
        )
    lines += [
        f"- metered calls/s (hold + capture) at c=32, instant model: {cap['rps']:.0f} (>= 1,500)",
        (
            f"- CPU per metered call at c=32: gateway {cap['gateway_cpu_ms']:.2f} ms, "
            f"PostgreSQL {cap['postgres_cpu_ms']:.2f} ms (1,500 calls/s on 2 cores leaves "
            "1.33 ms for both, and wrk and the model)"
        ),
        f"- ledger after the run: {books}",
        "",
        (
            "Added p50 at c=1 against the instant model, by how long each call leaves the gateway "
            "and PostgreSQL idle (the model sleeps, using no CPU; the gateway's work is the same "
            "in every row):"
        ),
        "",
        "| model sleeps ms | direct p50 ms | via gateway p50 ms | added ms |",
        "|---|---|---|---|",
    ]
    for ms, p in idle.items():
        lines.append(
            f"| {ms} | {p['floor_p50_ms']:.2f} | {p['p50_ms']:.2f} | "
            f"{p['p50_ms'] - p['floor_p50_ms']:.2f} |"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
