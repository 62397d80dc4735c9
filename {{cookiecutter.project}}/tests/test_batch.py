"""Batch scoring: CSV and Parquet in, one partition per scheduled time out; reruns overwrite."""

from datetime import datetime

import mlflow
import pandas as pd
import pytest

from {{ cookiecutter.package }}.batch import main, run
from {{ cookiecutter.package }}.data import make_transactions


def test_batch_scores_files_into_a_partition(fraud_uri, make_settings, tmp_path) -> None:
    features, _ = make_transactions(30, seed=5)
    (tmp_path / "in" / "day").mkdir(parents=True)
    features.iloc[:10].to_csv(tmp_path / "in" / "a.csv", index=False)
    features.iloc[10:].to_parquet(tmp_path / "in" / "day" / "b.parquet")
    scheduled = datetime(2026, 1, 2, 3, 4)
    settings = make_settings(model_uri=fraud_uri)

    partition = run(settings, str(tmp_path / "in"), str(tmp_path / "out"), scheduled)
    again = run(settings, str(tmp_path / "in"), str(tmp_path / "out"), scheduled)

    assert partition == again == f"{tmp_path / 'out'}/scheduled_time=20260102T0304"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["scheduled_time=20260102T0304"]
    scored = pd.read_parquet(f"{partition}/predictions.parquet")
    assert len(scored) == 30
    expected = mlflow.pyfunc.load_model(fraud_uri).predict(features)[:, 1]
    assert scored["prediction_fraud_probability"].tolist() == pytest.approx(expected, abs=1e-6)
    assert scored["merchant_category"].tolist() == features["merchant_category"].tolist()


def test_batch_without_input_exits_non_zero(fraud_uri, tracking_uri, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MODEL_URI", fraud_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    with pytest.raises(SystemExit) as stopped:
        main(["--input", str(tmp_path / "missing"), "--output", str(tmp_path / "out")])
    assert stopped.value.code == 1
    assert "no input at" in capsys.readouterr().err
