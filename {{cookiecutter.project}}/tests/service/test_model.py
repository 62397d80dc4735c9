"""Loading: every kind of MODEL_URI, into memory, downloads removed, failing fast and clearly."""

import dataclasses
import logging
import os
import subprocess
import sys
import tempfile
import time

import mlflow
import pytest

from {{ cookiecutter.package }}.model import ModelLoadError, load_model, warm_up


def _run_uri(classifier_uri: str) -> str:
    version = mlflow.MlflowClient().get_model_version_by_alias("classifier-test", "test")
    return f"runs:/{version.run_id}/model"


def test_loads_by_alias_version_run_and_path(classifier_uri, make_settings, tmp_path) -> None:
    by_alias = load_model(make_settings(model_uri=classifier_uri))
    assert (by_alias.name, by_alias.version) == ("classifier-test", "1")
    by_version = load_model(make_settings(model_uri="models:/classifier-test/1"))
    assert by_version.version == "1" and by_version.run_id == by_alias.run_id
    by_run = load_model(make_settings(model_uri=_run_uri(classifier_uri), model_name="classifier"))
    assert by_run.name == "classifier" and by_run.version.startswith("run-")
    local = mlflow.artifacts.download_artifacts(artifact_uri=classifier_uri, dst_path=str(tmp_path))
    by_path = load_model(make_settings(model_uri=local))
    assert by_path.signature == by_alias.signature


def test_downloaded_files_are_removed_after_loading(
    classifier_uri, make_settings, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    model = load_model(make_settings(model_uri=classifier_uri))
    assert list(tmp_path.iterdir()) == []
    assert model.input_example is not None  # kept in memory before the files went


def test_warm_up_scores_the_input_example_or_says_why_not(
    classifier_uri, other_uris, make_settings, caplog
) -> None:
    loaded = load_model(make_settings(model_uri=classifier_uri))
    assert warm_up(loaded) is not None
    assert warm_up(load_model(make_settings(model_uri=other_uris["every_type"]))) is None
    broken = dataclasses.replace(loaded, input_example={"no_such_column": [1]})
    with caplog.at_level(logging.WARNING):
        assert warm_up(broken) is None
    assert "warm-up prediction failed" in caplog.text


@pytest.mark.parametrize(
    ("uri", "cause"),
    [
        ("models:/no-such-model@champion", "no-such-model"),
        ("models:/classifier-test/99", "99"),
        ("/nonexistent/model/path", "nonexistent"),
    ],
)
def test_bad_uri_raises_naming_the_uri_and_cause(make_settings, classifier_uri, uri, cause) -> None:
    with pytest.raises(ModelLoadError) as caught:
        load_model(make_settings(model_uri=uri))
    assert repr(uri) in str(caught.value) and cause in str(caught.value)


def test_unreachable_tracking_server_fails_within_the_load_timeout(make_settings) -> None:
    settings = make_settings(
        model_uri="models:/m@a", mlflow_tracking_uri="http://127.0.0.1:9", model_load_timeout_s=3
    )
    started = time.monotonic()
    with pytest.raises(ModelLoadError, match="models:/m@a"):
        load_model(settings)
    assert time.monotonic() - started < 60


def test_serve_exits_non_zero_with_the_uri_and_cause(tracking_uri, tmp_path) -> None:
    env = os.environ | {
        "MODEL_URI": "models:/missing-model@champion",
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PORT": "18555",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package }}.serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "models:/missing-model@champion" in output and "not found" in output
