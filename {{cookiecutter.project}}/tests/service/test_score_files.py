"""Offline scoring: one input partition in, streamed in chunks, one partition out, atomically."""

from datetime import UTC, datetime

import mlflow
import pandas as pd
import pytest

from {{ cookiecutter.package }}.score_files import main, run, scheduled_time

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
