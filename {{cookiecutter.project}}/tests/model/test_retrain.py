"""Retraining keeps the newest challengers only, and trains on the team's data source: a real
MLflow registry in SQLite, and a data hook module written by the test."""

import mlflow
import pytest

from {{ cookiecutter.package }}.register import RETRAINED_TAG
from {{ cookiecutter.package }}.train import main, train
from {{ cookiecutter.package }}.training_data import DataSourceError, load_training_data

SMALL = {"rows": 300, "trees": 2}
TEAM_DATA = """
from {{ cookiecutter.package }}.data import make_transactions

CALLS = []


def load():
    CALLS.append(1)
    return make_transactions(250, 7)


def broken():
    return make_transactions(250, 7)[0]
"""


def _versions(client: mlflow.MlflowClient, name: str) -> set[str]:
    return {str(v.version) for v in client.search_model_versions(f"name = '{name}'")}


def test_retraining_keeps_the_newest_challengers_and_every_aliased_version(tracking_uri) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    name = "retention"
    train(tracking_uri, name, "champion", **SMALL)  # version 1: not retrained, never deleted
    for seed in range(3):  # versions 2, 3, 4: the third deletes version 2
        train(tracking_uri, name, "challenger", seed=seed, keep_challengers=2, **SMALL)
    assert _versions(client, name) == {"1", "3", "4"}
    client.set_registered_model_alias(name, "pinned", "3")  # someone keeps version 3
    run_of_4 = client.get_model_version(name, "4").run_id
    for seed in range(3, 5):  # versions 5 and 6
        train(tracking_uri, name, "challenger", seed=seed, keep_challengers=2, **SMALL)
    assert _versions(client, name) == {"1", "3", "5", "6"}
    assert str(client.get_model_version_by_alias(name, "challenger").version) == "6"
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    assert client.get_model_version(name, "6").tags[RETRAINED_TAG] == "true"
    assert RETRAINED_TAG not in client.get_model_version(name, "1").tags
    assert client.get_run(run_of_4).info.lifecycle_stage == "deleted"  # mlflow gc frees it


def test_the_cli_passes_keep_challengers(tracking_uri) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    for seed in range(3):
        main(["--tracking-uri", tracking_uri, "--model-name", "cli-retention", "--alias",
              "challenger", "--rows", "300", "--trees", "2", "--seed", str(seed),
              "--keep-challengers", "1"])  # fmt: skip
    assert _versions(client, "cli-retention") == {"3"}


def test_a_remote_store_without_a_data_source_is_refused(monkeypatch, capsys) -> None:
    monkeypatch.delenv("TRAINING_DATA", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(["--tracking-uri", "http://mlflow.mlflow.svc.cluster.local:5000"])
    assert stopped.value.code == 2
    assert "TRAINING_DATA is not set" in capsys.readouterr().err


def test_the_team_data_hook_is_what_retraining_trains_on(
    tracking_uri, tmp_path, monkeypatch
) -> None:
    (tmp_path / "team_data.py").write_text(TEAM_DATA)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TRAINING_DATA", "team_data:load")
    main(["--tracking-uri", tracking_uri, "--model-name", "hooked", "--alias", "challenger",
          "--trees", "2"])  # fmt: skip
    import team_data

    assert team_data.CALLS == [1]
    client = mlflow.MlflowClient(tracking_uri)
    run = client.get_run(client.get_model_version_by_alias("hooked", "challenger").run_id)
    assert run.data.params["data"] == "team_data:load"
    assert run.data.params["rows"] == "250"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("team_data", "must be 'package.module:function', a .csv or .parquet file"),
        ("no_such_module:load", "cannot be loaded"),
        ("team_data:missing", "cannot be loaded"),
        ("team_data:broken", "must return a (features, label) tuple"),
    ],
)
def test_bad_data_sources_are_explained(source, reason, tmp_path, monkeypatch) -> None:
    (tmp_path / "team_data.py").write_text(TEAM_DATA)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DataSourceError) as error:
        load_training_data(source, 10, 0)
    assert reason in str(error.value)
