"""Graceful shutdown under load: SIGTERM the baked service while wrk keeps it busy.

    python -m bench.shutdown [--connections 32] [--workers 2]

Passes (exit 0) when the server exits 0 within its graceful timeout, no response was an error
status or a timeout, and every request the app logged as answered reached wrk (wrk's count of
responses is at least the app's count of logged 200s). Connections refused or reset before
the app read them are reported, not failures: those requests were never received.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import time
from pathlib import Path

from bench.load import LUA, ensure_wrk
from bench.servers import ROOT, Server
from bench.soak import prepare


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--build", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    ws, body, ready = prepare(args.build)
    server = Server("ours", ws, args.workers, ready)
    server.start()
    log = next(ws.root.glob(f"ours-{args.workers}w-{server.port}.log"))
    wrk = subprocess.Popen(
        [ensure_wrk(), "-t1", f"-c{args.connections}", "-d12s", "--timeout", "10s", "-s", LUA,
         f"{server.url}/predict", "--", body, "application/json"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(4)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(60)
    drained_s = round(time.monotonic() - signalled, 2)
    out, _ = wrk.communicate(timeout=60)
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    logged = [json.loads(line) for line in log.read_text().splitlines() if '"request_id"' in line]
    logged = [r for r in logged if r.get("message", "").startswith("POST /predict ")]
    answered = sum(1 for record in logged if record.get("status") == 200)
    report = {
        "exit_code": code, "seconds_to_exit": drained_s, "app_answered_200": answered,
        "app_other_status": len(logged) - answered, "wrk_responses": result["requests"],
        "wrk_status_errors": result["status_errors"], "wrk_timeouts": result["timeouts"],
        "refused_or_reset_unread": result["connect_errors"] + result["read_errors"],
    }  # fmt: skip
    report["passed"] = (
        code == 0 and not report["wrk_status_errors"] and not report["wrk_timeouts"]
        and not report["app_other_status"] and result["requests"] >= answered > 0
    )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "shutdown.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    raise SystemExit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
