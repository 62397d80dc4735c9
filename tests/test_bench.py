"""The benchmark harness runs end to end (smoke mode), so `make bench` cannot rot unnoticed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = {
    "machine", "raw_predict", "pss_mib", "cold_start_s", "load", "pss_after_load_mib",
    "ratios", "targets",
}  # fmt: skip


@pytest.mark.timeout(900)
def test_smoke_bench_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--build", tmp_path / "build", "--out", out],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ratios against mlflow models serve" in done.stdout
    results = json.loads((out / "latest.json").read_text())
    assert SECTIONS <= results.keys()
    assert {"rows_1", "rows_100"} <= results["raw_predict"].keys()
    assert set(results["pss_mib"]) == {"ours", "mlflow"}
    assert all(results["cold_start_s"][kind] for kind in ("ours", "mlflow"))
    served = {(p["server"], p["route"]) for p in results["load"]}
    assert served == {
        ("mlflow", "/invocations"), ("ours", "/invocations"), ("ours", "/predict"),
        ("ours", "/predict/batch"),
    }  # fmt: skip
    assert all(p["requests"] > 0 and p["errors"] == 0 for p in results["load"])
    assert results["ratios"] and results["targets"]
    paired = results["c1_interleaved"]  # the c=1 targets: timed call for call with the floor
    assert set(paired) == {"/invocations", "/predict"}
    assert all(v["p50_ms"] > 0 and v["floor_p50_ms"] > 0 for v in paired.values())
    assert (out / "latest.md").read_text().startswith("# modelship service")
    assert (out / "latest.png").stat().st_size > 1000


def test_a_point_is_the_median_of_its_rounds() -> None:
    """One slow round (a neighbour's burst on a shared machine) cannot decide a ratio alone."""
    from bench.run import median_run

    def run(rps: float, p99: float) -> dict:
        return {"requests": int(rps * 3), "rps": rps, "p50_ms": 1000 / rps, "p90_ms": 1.0,
                "p99_ms": p99, "mean_ms": 1.0, "errors": 0, "status_errors": 0}  # fmt: skip

    point = median_run([run(600.0, 40.0), run(150.0, 300.0), run(640.0, 35.0)])
    assert point["rps"] == 600.0 and point["p99_ms"] == 40.0
    assert point["requests"] == 1800 + 450 + 1920 and point["errors"] == 0
    assert [r["rps"] for r in point["rounds"]] == [600.0, 150.0, 640.0]
