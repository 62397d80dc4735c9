"""Soak test: the baked service under closed-loop load on 127.0.0.1 for a bounded time.

    python -m bench.soak [--seconds 60] [--connections 64] [--workers 2]

Passes (exit 0) when wrk saw no error at all and the resident memory of the process tree
grew by less than 5% from the end of the warm-up to the end of the run. Writes
results/soak.json. Reuses the model of build/bench (bakes and trains it when missing).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import psutil

from bench.load import ensure_wrk, run_wrk
from bench.servers import ROOT, Server, Workspace, bake, train


def rss_mib(pid: int) -> float:
    root = psutil.Process(pid)
    return round(
        sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20, 1
    )


def prepare(build: Path) -> tuple[Workspace, Path, bytes]:
    """The baked project, the registered model and 1-row bodies, as `python -m bench` has them."""
    from bench.run import MODES, payloads

    ws = bake(build)
    train(ws, *MODES["full"]["train"])
    files = payloads(ws, (1,))
    return ws, files["predict-1"], files["invocations-1"].read_bytes()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--build", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    ensure_wrk()
    ws, body, ready = prepare(args.build)
    samples: list[tuple[float, float]] = []
    with Server("ours", ws, args.workers, ready) as server:
        run_wrk(f"{server.url}/predict", body, args.connections, 5)  # warm-up
        start_rss = rss_mib(server.process.pid)
        done = threading.Event()

        def sample() -> None:
            started = time.monotonic()
            while not done.wait(5):
                samples.append((round(time.monotonic() - started), rss_mib(server.process.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = run_wrk(f"{server.url}/predict", body, args.connections, args.seconds)
        done.set()
        end_rss = rss_mib(server.process.pid)
        pss = server.pss_mib()
    growth = (end_rss - start_rss) / start_rss * 100
    report = {
        "seconds": args.seconds, "connections": args.connections, "workers": args.workers,
        "wrk": result, "rss_start_mib": start_rss, "rss_end_mib": end_rss,
        "rss_growth_percent": round(growth, 2), "pss_end_mib": pss, "rss_samples": samples,
        "passed": result["errors"] == 0 and growth < 5,
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "rss_samples"}, indent=2))
    raise SystemExit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
