"""Offline scoring: one input partition in, streamed in chunks, one partition out, atomically."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow.parquet
import pytest

from {{ cookiecutter.package }}.score_files import main, run, scheduled_time

from tests.service.models import classifier_rows

SCHEDULED = datetime(2026, 1, 2, 3, 4)
PARTITION = "scheduled_time=20260102T0304"


def test_scores_only_its_partition_in_chunks(other_uris, make_settings, tmp_path) -> None:
    features = pd.DataFrame(
        {
            "size": [40.0 + i for i in range(30)],
            "premium": [i % 2 == 0 for i in range(30)],
            "floors": [1 + i % 3 for i in range(30)],
        }
    )
    (tmp_path / "in" / PARTITION / "day").mkdir(parents=True)
    (tmp_path / "in" / "scheduled_time=20260102T0204").mkdir()
    features.iloc[:10].to_csv(tmp_path / "in" / PARTITION / "a.csv", index=False)
    features.iloc[10:].to_parquet(tmp_path / "in" / PARTITION / "day" / "b.parquet")
    features.to_csv(tmp_path / "in" / "scheduled_time=20260102T0204" / "old.csv", index=False)
    settings = make_settings(model_uri=other_uris["regressor"], score_chunk_rows=7)

    partition = run(settings, str(tmp_path / "in"), str(tmp_path / "out"), SCHEDULED)
    again = run(settings, str(tmp_path / "in"), str(tmp_path / "out"), SCHEDULED)

    assert partition == again == f"{tmp_path / 'out'}/{PARTITION}"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [PARTITION]
    assert [p.name for p in (tmp_path / "out" / PARTITION).iterdir()] == ["predictions.parquet"]
    scored = pd.read_parquet(f"{partition}/predictions.parquet")
    assert len(scored) == 30
    order = pd.concat([features.iloc[:10], features.iloc[10:]])  # CSV files first, then Parquet
    expected = mlflow.pyfunc.load_model(other_uris["regressor"]).predict(order)
    assert scored["prediction"].tolist() == pytest.approx(list(expected), abs=1e-6)
    assert scored["size"].tolist() == order["size"].tolist()


def test_scheduled_time_from_the_cronjob_job_name() -> None:
    minutes = int(datetime(2026, 1, 2, 3, 4, tzinfo=UTC).timestamp()) // 60
    assert scheduled_time(f"fraud-detector-batch-{minutes}") == SCHEDULED.replace(tzinfo=UTC)
    assert scheduled_time("2026-01-02T03:04") == SCHEDULED


def test_missing_partition_exits_non_zero(
    classifier_uri, tracking_uri, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("MODEL_URI", classifier_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    (tmp_path / "in").mkdir()
    with pytest.raises(SystemExit) as stopped:
        main(
            [
                *("--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")),
                *("--scheduled-time", "2026-01-02T03:04"),
            ]
        )
    assert stopped.value.code == 1
    assert "no input partition at" in capsys.readouterr().err
    assert not list((tmp_path / "out").rglob("*.parquet"))


# Runs `batch` twice in one fresh interpreter, on each input given, and prints the peak
# resident memory (ru_maxrss, a high-water mark, KiB) after each run.
PEAK_RSS = """
import resource, sys
from {{ cookiecutter.package }}.score_files import main
for arguments in sys.argv[1:]:
    main(arguments.split("\\t"))
    print("PEAK_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""
#: What a large input may add to the peak memory of a run over one file of the same shape.
MEMORY_BUDGET = 32 * 2**20
ROWS_PER_FILE = 2_000


def _peaks(classifier_uri: str, tracking_uri: str, *runs: tuple[Path, Path]) -> list[int]:
    """The peak RSS in bytes after each `batch` run (input, output) over SCHEDULED."""
    env = os.environ | {
        "MODEL_URI": classifier_uri,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "SCORE_CHUNK_ROWS": "1000",
        "LOG_LEVEL": "WARNING",
    }
    time = ("--scheduled-time", SCHEDULED.isoformat())
    arguments = ["\t".join(("--input", str(a), "--output", str(b), *time)) for a, b in runs]
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *arguments],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return [int(line.split()[1]) * 1024 for line in done.stderr.splitlines() if "PEAK_KIB" in line]


def test_an_input_larger_than_its_memory_budget_streams(classifier_uri, tracking_uri, tmp_path):
    # Wide rows (a 16 KB text column the model does not read and the output keeps) make a
    # large input of few rows: the test is about memory, not about scoring time.
    features = classifier_rows(ROWS_PER_FILE, seed=9)
    features["note"] = "n" * 16_384
    table = pyarrow.Table.from_pandas(features, preserve_index=False)
    one, many = tmp_path / "one" / PARTITION, tmp_path / "many" / PARTITION
    one.mkdir(parents=True)
    many.mkdir(parents=True)
    pyarrow.parquet.write_table(table, one / "part.parquet")
    files = 12
    for number in range(files):
        pyarrow.parquet.write_table(table, many / f"part-{number:02}.parquet")
    in_memory = features.memory_usage(deep=True).sum() * files
    assert in_memory > 8 * MEMORY_BUDGET  # the input could never be held at once

    # One file first (imports, model, a row group: the high-water mark), then the large input.
    baseline, peak = _peaks(
        classifier_uri,
        tracking_uri,
        (tmp_path / "one", tmp_path / "out-one"),
        (tmp_path / "many", tmp_path / "out-many"),
    )

    grew = (peak - baseline) / 2**20
    assert peak - baseline < MEMORY_BUDGET, f"{grew:.0f} MiB more for {files} times the input"
    scored = pyarrow.parquet.ParquetFile(tmp_path / "out-many" / PARTITION / "predictions.parquet")
    assert scored.metadata.num_rows == ROWS_PER_FILE * files
    names = scored.schema_arrow.names
    assert "note" in names and any(name.startswith("prediction") for name in names)


def test_three_shards_as_processes_equal_one_run(
    classifier_uri, tracking_uri, make_settings, tmp_path
):
    """`batch` as a Kubernetes Indexed Job runs it: shard JOB_COMPLETION_INDEX of SHARD_COUNT,
    each its own process writing only its own part."""
    features = classifier_rows(95, seed=4)
    (tmp_path / "in" / PARTITION).mkdir(parents=True)
    features.iloc[:40].to_csv(tmp_path / "in" / PARTITION / "a.csv", index=False)
    features.iloc[40:].to_parquet(tmp_path / "in" / PARTITION / "b.parquet")
    env = os.environ | {
        "MODEL_URI": classifier_uri,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "SCORE_CHUNK_ROWS": "10",
        "LOG_LEVEL": "WARNING",
    }
    batch = [sys.executable, "-m", "{{ cookiecutter.package }}.score_files", "--input",
             str(tmp_path / "in"), "--scheduled-time", SCHEDULED.isoformat()]  # fmt: skip
    shards = [
        subprocess.Popen(
            [*batch, "--output", str(tmp_path / "sharded")],
            env=env | {"JOB_COMPLETION_INDEX": str(index), "SHARD_COUNT": "3"},
            stderr=subprocess.PIPE,
        )
        for index in range(3)
    ]
    for shard in shards:
        _out, err = shard.communicate(timeout=600)
        assert shard.returncode == 0, err[-3000:]
    settings = make_settings(model_uri=classifier_uri, score_chunk_rows=10)
    run(settings, str(tmp_path / "in"), str(tmp_path / "whole"), SCHEDULED)  # one, unsharded
    parts = sorted(p.name for p in (tmp_path / "sharded" / PARTITION).iterdir())
    assert parts == [f"predictions-{i}-of-3.parquet" for i in range(3)]
    sharded = pd.concat(pd.read_parquet(tmp_path / "sharded" / PARTITION / p) for p in parts)
    one = pd.read_parquet(tmp_path / "whole" / PARTITION / "predictions.parquet")
    assert min(len(pd.read_parquet(tmp_path / "sharded" / PARTITION / p)) for p in parts) > 0
    key = list(features.columns)
    pd.testing.assert_frame_equal(
        sharded.sort_values(key).reset_index(drop=True), one.sort_values(key).reset_index(drop=True)
    )
    assert len(one) == 95
