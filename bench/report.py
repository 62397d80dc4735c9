"""Ratios against `mlflow models serve`, the targets of the issue, and the written reports."""

from __future__ import annotations

import json
from pathlib import Path

LABELS = {
    ("mlflow", "/invocations"): "mlflow serve /invocations",
    ("ours", "/invocations"): "ours /invocations",
    ("ours", "/predict"): "ours /predict",
}


def _label(point: dict) -> str:
    route = "/predict" if point["route"].startswith("/predict") else point["route"]
    return LABELS[(point["server"], route)]


def _find(load: list[dict], label: str, rows: int, concurrency: int) -> dict | None:
    return next(
        (
            p
            for p in load
            if _label(p) == label and (p["rows"], p["concurrency"]) == (rows, concurrency)
        ),
        None,
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def compare(results: dict) -> tuple[list[dict], list[dict]]:
    """Ratios of each of our routes to mlflow's at every point, and the issue's targets."""
    load = results["load"]
    ratios = []
    for point in load:
        if point["server"] != "ours":
            continue
        base = _find(load, LABELS[("mlflow", "/invocations")], point["rows"], point["concurrency"])
        if base:
            ratios.append({
                "route": point["route"], "rows": point["rows"], "concurrency": point["concurrency"],
                "rps_x": _ratio(point["rps"], base["rps"]),
                "p50_x": _ratio(point["p50_ms"], base["p50_ms"]),
                "p99_x": _ratio(point["p99_ms"], base["p99_ms"]),
            })  # fmt: skip
    targets = []

    def target(name: str, value: float | None, goal: float, higher: bool) -> None:
        met = None if value is None else (value >= goal if higher else value <= goal)
        sign = ">=" if higher else "<="
        targets.append({"target": name, "value": value, "goal": f"{sign} {goal}",
                        "met": met})  # fmt: skip

    def rx(route: str, rows: int, c: int, key: str) -> float | None:
        found = next(
            (r for r in ratios if (r["route"], r["rows"], r["concurrency"]) == (route, rows, c)),
            None,
        )
        return found[key] if found else None

    # The floor measured beside the c=1 points, when there is one: same machine conditions.
    near = results.get("raw_predict_beside_c1") or results["raw_predict"].get("rows_1", {})
    floor = near.get("p50_ms")
    for route in ("/invocations", "/predict"):
        target(f"1-row c=32 {route}: req/s vs mlflow", rx(route, 1, 32, "rps_x"), 8, True)
        target(f"1-row c=32 {route}: p99 vs mlflow", rx(route, 1, 32, "p99_x"), 0.5, False)
        paired = results.get("c1_interleaved", {}).get(route)
        if paired:  # timed call for call against the floor: the machine's drift cancels out
            ratio = _ratio(paired["p50_ms"], paired["floor_p50_ms"])
        else:
            one = _find(load, LABELS[("ours", route)], 1, 1)
            ratio = _ratio(one and one["p50_ms"], floor)
        target(f"1-row c=1 {route}: p50 vs raw predict", ratio, 1.2, False)
    for route in ("/invocations", "/predict/batch"):
        target(f"100-row c=8 {route}: req/s vs mlflow", rx(route, 100, 8, "rps_x"), 1.5, True)
    pss, cold, w = results["pss_mib"], results["cold_start_s"], str(results["workers"])
    target(
        "PSS 4 workers vs 1 worker", _ratio(pss["ours"].get("4"), pss["ours"].get("1")), 1.6, False
    )
    target(
        "PSS 2 workers vs mlflow's 2",
        _ratio(pss["ours"].get("2"), pss["mlflow"].get("2")),
        0.6,
        False,
    )
    target(
        f"cold start vs mlflow ({w} workers)",
        _ratio(cold["ours"].get(w), cold["mlflow"].get(w)),
        0.8,
        False,
    )
    return ratios, targets


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"# modelship service vs `mlflow models serve` ({results['mode']} run)",
        "",
        (
            f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}, "
            f"Python {m['python']}; {', '.join(f'{k} {v}' for k, v in m['packages'].items())}; "
            f"{m['wrk']}. Commit {m['commit']}, {results['started_at']}. Load average "
            f"before/after: {results.get('load_average_before')} / "
            f"{results.get('load_average_after')} (other jobs share this machine). "
            f"Service settings: {results.get('ours_env') or 'defaults'}."
        ),
        "",
        (
            f"Both servers: {results['workers']} workers, same registered model and payloads, "
            "wrk -t1 "
            f"closed loop with keep-alive on 127.0.0.1, {results.get('rounds_per_point', 1)} "
            f"round(s) of {results['seconds_per_point']} s per point, the servers alternating "
            "round by round; each figure is the median of its rounds."
        ),
        "",
        "## Throughput and latency",
        "",
        (
            "| rows | conc. | server / route | req/s | p50 ms | p90 ms | p99 ms | errors "
            "| req/s x mlflow |"
        ),
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in results["load"]:
        key = (p["route"], p["rows"], p["concurrency"])
        x = next((r["rps_x"] for r in results["ratios"] if p["server"] == "ours"
                  and (r["route"], r["rows"], r["concurrency"]) == key), None)  # fmt: skip
        lines.append(
            f"| {p['rows']} | {p['concurrency']} | {p['server']} {p['route']} | {p['rps']:.1f} | "
            f"{p['p50_ms']:.2f} | {p['p90_ms']:.2f} | {p['p99_ms']:.2f} | {p['errors']} | "
            f"{'' if x is None else f'{x:.2f}x'} |"
        )
    floor = results["raw_predict"]
    lines += ["", "## Raw `model.predict` in process (the floor)", "", "| rows | p50 ms | p90 ms |",
              "| ---: | ---: | ---: |"]  # fmt: skip
    lines += [f"| {k.split('_')[1]} | {v['p50_ms']} | {v['p90_ms']} |" for k, v in floor.items()]
    if beside := results.get("raw_predict_beside_c1"):
        lines.append(
            f"| 1 (again, beside the c=1 points) | {beside['p50_ms']} | {beside['p90_ms']} |"
        )
    if paired := results.get("c1_interleaved"):
        lines += ["", "## 1 row at concurrency 1, call for call against the floor", "",
                  ("One keep-alive request, then one in-process `model.predict`, repeated: "
                   "both timed under the same conditions (the c=1 targets use these)."), "",
                  "| route | pairs | service p50 ms | floor p50 ms | ratio |",
                  "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
        lines += [f"| ours {route} | {v['pairs']} | {v['p50_ms']} | {v['floor_p50_ms']} | "
                  f"{_ratio(v['p50_ms'], v['floor_p50_ms'])} |" for route, v in paired.items()]  # fmt: skip
    lines += ["", "## Memory (PSS of the process tree, MiB) and cold start (s)", "",
              "| server | workers | PSS MiB | cold start s |",
              "| --- | ---: | ---: | ---: |"]  # fmt: skip
    for kind, by_workers in results["pss_mib"].items():
        for w, mib in by_workers.items():
            lines.append(f"| {kind} | {w} | {mib} | {results['cold_start_s'][kind].get(w)} |")
    lines += ["", "## Targets", "", "| target | value | goal | met |", "| --- | ---: | --- | --- |"]
    for t in results["targets"]:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {t['value']} | {t['goal']} | {met} |")
    return "\n".join(lines) + "\n"


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    load = results["load"]
    rows_set = sorted({p["rows"] for p in load})
    concs = sorted({p["concurrency"] for p in load})
    fig, axes = plt.subplots(1, len(rows_set) + 1, figsize=(5 * (len(rows_set) + 1), 4))
    width = 0.8 / len(LABELS)
    for ax, rows in zip(axes, rows_set, strict=False):
        for i, label in enumerate(LABELS.values()):
            values = [(_find(load, label, rows, c) or {}).get("rps", 0) for c in concs]
            ax.bar([x + i * width for x in range(len(concs))], values, width, label=label)
        ax.set_xticks([x + width for x in range(len(concs))], [f"c={c}" for c in concs])
        ax.set_title(f"{rows}-row requests: requests/s")
    axes[0].legend(fontsize=8)
    pss = results["pss_mib"]
    bars = [(f"{k} {w}w", pss[k][w]) for k in ("ours", "mlflow") for w in sorted(pss[k], key=int)]
    axes[-1].bar(
        [b[0] for b in bars],
        [b[1] for b in bars],
        color=["C1"] * len(pss["ours"]) + ["C0"] * len(pss["mlflow"]),
    )
    axes[-1].set_title("PSS of the process tree (MiB)")
    fig.suptitle(
        f"modelship vs mlflow models serve ({results['mode']}, {results['machine']['cores']} cores)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(results: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "latest.json", out / "latest.md", out / "latest.png"]
    paths[0].write_text(json.dumps(results, indent=2) + "\n")
    paths[1].write_text(markdown(results))
    chart(results, paths[2])
    return paths


def summary(results: dict) -> str:
    lines = ["", "ratios against mlflow models serve (req/s x, p99 x):"]
    for r in results["ratios"]:
        lines.append(f"  {r['route']:15} rows={r['rows']:<3} c={r['concurrency']:<2} "
                     f"req/s {r['rps_x']}x  p99 {r['p99_x']}x")  # fmt: skip
    lines.append("targets:")
    for t in results["targets"]:
        met = {True: "met", False: "NOT MET", None: "not measured"}[t["met"]]
        lines.append(f"  {t['target']}: {t['value']} (goal {t['goal']}) {met}")
    return "\n".join(lines)
