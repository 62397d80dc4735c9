"""`make bench`: the generated service against `mlflow models serve`, same model, same load.

    python -m bench            # full run: 3 rounds of 5 s per point (about 15 minutes)
    python -m bench --quick    # 3 rounds of 3 s per point (about 7 minutes)
    python -m bench --smoke    # about 1 s per point and fewer points (the test suite runs this)

Bakes the template into build/bench/, trains and registers the demo model once into a local
SQLite MLflow store, then measures both servers with the same workers, the same payloads and
the same load generator (wrk, closed loop over keep-alive connections, on 127.0.0.1 only),
alternating the two servers point by point and round by round: each point is the median of
its rounds, so a few seconds of drift on a shared machine cannot decide a ratio alone. Writes results/latest.{json,md,png}.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import report
from bench.load import ensure_wrk, interleaved, run_wrk
from bench.servers import PACKAGE, ROOT, Server, Workspace, bake, train

MODES: dict[str, dict[str, Any]] = {
    "full": {"seconds": 5, "rounds": 3, "concurrency": (1, 8, 32), "rows": (1, 100), "repeats": 300,
             "ours_workers": (1, 2, 4), "mlflow_workers": (1, 2), "train": (20_000, 100)},
    "quick": {"seconds": 3, "rounds": 3, "concurrency": (1, 8, 32), "rows": (1, 100), "repeats": 60,
              "ours_workers": (1, 2, 4), "mlflow_workers": (1, 2), "train": (20_000, 100)},
    "smoke": {"seconds": 1, "rounds": 1, "concurrency": (1, 32), "rows": (1, 100), "repeats": 10,
              "ours_workers": (1, 2), "mlflow_workers": (2,), "train": (2_000, 20)},
}  # fmt: skip
# (server, route for 1-row bodies, route for many-row bodies, payload kind)
TARGETS = (
    ("mlflow", "/invocations", "/invocations", "invocations"),
    ("ours", "/invocations", "/invocations", "invocations"),
    ("ours", "/predict", "/predict/batch", "predict"),
)


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    versions = {p: metadata.version(p) for p in
                ("mlflow", "scikit-learn", "fastapi", "uvicorn", "gunicorn", "pandas")}  # fmt: skip
    wrk = subprocess.run([ensure_wrk(), "-v"], capture_output=True, text=True, check=False)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    return {
        "cpu": cpu, "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kib / 2**20, 1), "kernel": platform.release(),
        "python": platform.python_version(), "packages": versions,
        "wrk": (wrk.stdout or wrk.stderr).split("\n")[0].strip(), "commit": commit or None,
    }  # fmt: skip


def payloads(ws: Workspace, rows: tuple[int, ...]) -> dict[str, Path]:
    """Request bodies, written once: the same rows for every server and route."""
    sys.path.insert(0, str(ws.project / "src"))
    demo_frame = importlib.import_module(f"{PACKAGE}.train").demo_frame
    folder = ws.root / "payloads"
    folder.mkdir(exist_ok=True)
    files = {}
    for n in rows:
        frame = demo_frame(n)
        split = frame.to_dict(orient="split", index=False)
        records = frame.to_dict(orient="records")
        bodies = {
            f"invocations-{n}": {"dataframe_split": split},
            f"predict-{n}": records[0] if n == 1 else records,
        }
        for name, body in bodies.items():
            files[name] = folder / f"{name}.json"
            files[name].write_text(json.dumps(body))
    return files


class Floor:
    """The floor: in-process `model.predict` on a loaded PyFunc, no HTTP at all."""

    def __init__(self, ws: Workspace) -> None:
        import mlflow

        mlflow.set_tracking_uri(ws.tracking_uri)
        self.model = mlflow.pyfunc.load_model(ws.model_uri)
        self.demo_frame = importlib.import_module(f"{PACKAGE}.train").demo_frame

    def interleaved(self, url: str, files: dict, pairs: int) -> dict[str, dict]:
        """Each 1-row route of ours timed call for call against this floor (see load.py)."""
        frame = self.demo_frame(1)
        predict = lambda: self.model.predict(frame)
        routes = [(route, payload) for kind, route, _, payload in TARGETS if kind == "ours"]
        return {
            route: interleaved(f"{url}{route}", files[f"{payload}-1"].read_bytes(), predict, pairs)
            for route, payload in routes
        }

    def measure(self, rows: int, repeats: int) -> dict[str, float]:
        frame = self.demo_frame(rows)
        self.model.predict(frame)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            self.model.predict(frame)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        return {
            "p50_ms": round(statistics.median(times), 3),
            "p90_ms": round(times[int(len(times) * 0.9)], 3),
            "mean_ms": round(statistics.fmean(times), 3),
            "repeats": repeats,
        }


def median_run(results: list[dict]) -> dict:
    """One point from its rounds: the median of each figure, the sums of the counts."""
    summed = ("requests", "errors", "status_errors")
    point = {key: sum(r[key] for r in results) for key in summed}
    for key in results[0]:
        if key not in summed:
            point[key] = round(statistics.median(r[key] for r in results), 3)
    point["rounds"] = [{"rps": r["rps"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"]}
                       for r in results]  # fmt: skip
    return point


def measure_memory(ws: Workspace, mode: dict, body: bytes, files: dict, skip: int) -> dict:
    """PSS of each server's process tree after a short load, and its cold start, per workers
    (the `skip`-workers pair is measured by measure_load on the servers it starts)."""
    plan = [("ours", w) for w in mode["ours_workers"]] + [
        ("mlflow", w) for w in mode["mlflow_workers"]
    ]
    plan.sort(key=lambda item: (item[1], item[0]))  # alternate the servers
    memory: dict[str, dict[str, float]] = {"ours": {}, "mlflow": {}}
    cold: dict[str, dict[str, float]] = {"ours": {}, "mlflow": {}}
    for kind, workers in plan:
        if workers == skip:
            continue
        with Server(kind, ws, workers, body) as server:
            cold[kind][str(workers)] = server.cold_start_s
            run_wrk(f"{server.url}/invocations", files["invocations-1"], 8, min(3, mode["seconds"]))
            memory[kind][str(workers)] = server.pss_mib()
        report_server(kind, workers, memory, cold)
    return {"pss_mib": memory, "cold_start_s": cold}


def report_server(kind: str, workers: int, memory: dict, cold: dict) -> None:
    print(f"  {kind} {workers}w: PSS {memory[kind][str(workers)]} MiB, "
          f"cold start {cold[kind][str(workers)]} s", flush=True)  # fmt: skip


def measure_load(
    ws: Workspace, mode: dict, workers: int, body: bytes, files: dict, into: dict, floor: Floor
):
    """Every (rows, concurrency) point on every target, the servers alternating point by point.
    Also the cold start and PSS of both servers with `workers` workers, into `into`."""
    points = []
    servers = {kind: Server(kind, ws, workers, body) for kind in ("mlflow", "ours")}
    servers["ours"].env = dict(mode.get("ours_env", {}))
    try:
        for kind, server in servers.items():
            into["cold_start_s"][kind][str(workers)] = server.start()
        for kind, one, _, payload in TARGETS:  # warm up: imports, caches, first allocations
            run_wrk(f"{servers[kind].url}{one}", files[f"{payload}-1"], 8, min(3, mode["seconds"]))
        for kind, server in servers.items():
            into["pss_mib"][kind][str(workers)] = server.pss_mib()
            report_server(kind, workers, into["pss_mib"], into["cold_start_s"])
        order = list(TARGETS)
        for rows in mode["rows"]:
            for concurrency in mode["concurrency"]:
                if (rows, concurrency) == (1, 1):  # the floor again, under today's conditions
                    into["raw_predict_beside_c1"] = floor.measure(1, mode["repeats"])
                    # at least 200 pairs: a median of 60 still moved by 10 % between runs here
                    pairs = max(mode["repeats"], 200)
                    into["c1_interleaved"] = floor.interleaved(servers["ours"].url, files, pairs)
                runs: dict[tuple, list[dict]] = {}
                for _ in range(mode["rounds"]):  # A-B-B-A... so both see the same drift
                    for kind, one, many, payload in order:
                        route = one if rows == 1 else many
                        result = run_wrk(
                            f"{servers[kind].url}{route}", files[f"{payload}-{rows}"],
                            concurrency, mode["seconds"],
                        )  # fmt: skip
                        runs.setdefault((kind, route), []).append(result)
                        print(f"  {kind:6} {route:15} rows={rows:<3} c={concurrency:<2} "
                              f"{result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.2f} ms  "
                              f"p99 {result['p99_ms']:7.2f} ms  errors {result['errors']}",
                              flush=True)  # fmt: skip
                    order.reverse()
                for (kind, route), results in runs.items():
                    points.append({"server": kind, "route": route, "rows": rows,
                                   "concurrency": concurrency, **median_run(results)})  # fmt: skip
        after = {kind: server.pss_mib() for kind, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    return points, after


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="a few seconds per point")
    speed.add_argument("--smoke", action="store_true", help="~1 s per point, fewer points")
    parser.add_argument("--workers", type=int, default=2, help="workers of both servers")
    parser.add_argument(
        "--ours-env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting of the baked service for the load runs (recorded in the results)",
    )  # fmt: skip
    parser.add_argument("--build", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    mode = {**MODES[name], "ours_env": dict(item.split("=", 1) for item in args.ours_env)}
    started = time.monotonic()
    ensure_wrk()
    print(f"bench ({name}): baking and training into {args.build}", flush=True)
    ws = bake(args.build)
    train(ws, *mode["train"])
    files = payloads(ws, mode["rows"])
    body = files["invocations-1"].read_bytes()
    results: dict[str, Any] = {
        "mode": name, "workers": args.workers, "seconds_per_point": mode["seconds"],
        "rounds_per_point": mode["rounds"],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
        "load_average_before": os.getloadavg(), "ours_env": mode["ours_env"],
    }  # fmt: skip
    print("raw model.predict (the floor)", flush=True)
    floor = Floor(ws)
    results["raw_predict"] = {f"rows_{n}": floor.measure(n, mode["repeats"]) for n in mode["rows"]}
    print(f"  {results['raw_predict']}", flush=True)
    print("memory (PSS after a short load) and cold start, per workers", flush=True)
    results.update(measure_memory(ws, mode, body, files, skip=args.workers))
    print(
        f"load: wrk, {mode['rounds']} rounds of {mode['seconds']} s per point, "
        f"{args.workers} workers each",
        flush=True,
    )
    results["load"], results["pss_after_load_mib"] = measure_load(
        ws, mode, args.workers, body, files, into=results, floor=floor
    )
    results["load_average_after"] = os.getloadavg()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["ratios"], results["targets"] = report.compare(results)
    paths = report.write(results, args.out)
    print(report.summary(results))
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
