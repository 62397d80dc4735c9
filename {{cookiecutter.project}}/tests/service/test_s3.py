"""A model whose artifacts live in an S3-compatible store (moto's server on 127.0.0.1) loads
with the endpoint and credentials taken from the settings alone."""

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import mlflow
import pandas as pd
import pytest

from {{ cookiecutter.package }}.model import load_model

from tests.service import models

S3_ENV = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_model_in_s3_loads_with_settings_credentials(
    s3_endpoint, tracking_uri, make_settings, monkeypatch
) -> None:
    for name, value in zip(S3_ENV, (s3_endpoint, "modelship", "modelship-secret"), strict=True):
        monkeypatch.setenv(name, value)  # to log the model; the service gets them from settings
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket="models"
    )
    experiment = mlflow.create_experiment("in-s3", artifact_location="s3://models/artifacts")
    mlflow.set_experiment(experiment_id=experiment)
    uri = models.log_pyfunc("s3-model", models.Quirky(), models.QUIRKY_SIGNATURE)
    for name in S3_ENV:
        monkeypatch.delenv(name)

    settings = make_settings(
        model_uri=uri,
        mlflow_s3_endpoint_url=s3_endpoint,
        aws_access_key_id="modelship",
        aws_secret_access_key="modelship-secret",
    )
    model = load_model(settings)

    assert model.predict(pd.DataFrame({"x": [2.0, 3.5]})).tolist() == [4.0, 7.0]
    run = mlflow.MlflowClient().get_run(model.run_id)
    assert run.info.artifact_uri.startswith("s3://models/")
