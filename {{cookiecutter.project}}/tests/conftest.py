"""Fixtures every test shares: a temporary MLflow store, settings, and the real app."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package }}.api import create_app
from {{ cookiecutter.package }}.settings import Settings


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking store and registry in a temporary SQLite file."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri


@pytest.fixture(scope="session")
def make_settings(tracking_uri: str, tmp_path_factory) -> Callable[..., Settings]:
    card = Path(__file__).resolve().parent.parent / "catalog-info.yaml"

    def make(**overrides) -> Settings:
        values = {"mlflow_tracking_uri": tracking_uri, "card_path": card, "log_level": "INFO"}
        return Settings(_env_file=None, **(values | overrides))

    return make


@pytest.fixture(scope="session")
def serve(make_settings) -> Callable[..., TestClient]:
    """`with serve(model_uri, **settings) as client:` runs the real app (lifespan included)."""

    @contextmanager
    def run(model_uri: str, **overrides) -> Iterator[TestClient]:
        app = create_app(make_settings(model_uri=model_uri, **overrides))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client

    return run
