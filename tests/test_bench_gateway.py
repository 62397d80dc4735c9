"""make bench-gateway runs end to end (a second per point), so it cannot rot unnoticed: real
PostgreSQL, the baked demo model, the gateway and wrk, as in the real run."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cores import can_split

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(900)
def test_smoke_bench_gateway_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "gateway.md"
    done = subprocess.run(
        [sys.executable, "bench/gateway.py", "--build", tmp_path / "build", "--out", out],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "DURATION_S": "1", "ROUNDS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = out.read_text()
    rows = re.findall(
        r"^\| (model|instant) (direct|via gateway) \|([^|]+)\|(.*)$", text, re.MULTILINE
    )
    points = {(kind, path, c.strip()) for kind, path, c, _ in rows}
    layouts = ["32 #1", "32 own #1"] if can_split() else ["32 #1"]
    assert points == {
        (kind, path, c)
        for kind, cs in (("model", ["1", *layouts]), ("instant", ["32"]))
        for c in cs
        for path in ("direct", "via gateway")
    }
    for *point, figures in rows:  # p50, p99, req/s, errors, spread: every call answered 200
        assert figures.split("|")[3].strip() == "0", point
    assert "'balanced': True" in text and "'open_holds': 0" in text
    idle = re.findall(r"^\| (\d+) \| [\d.]+ \| [\d.]+ \| -?[\d.]+ \|$", text, re.MULTILINE)
    assert idle == ["0", "1", "2", "4", "17"]
    assert "metered calls/s (hold + capture) at c=32" in text
