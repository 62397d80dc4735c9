"""Platform fixtures: every database test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from modelship.billing.app import create_app
from modelship.db import make_engine, session_factory, upgrade
from modelship.settings import Settings
from sqlalchemy import text

from modelship_platform.postgres import postgres_server
from modelship_platform.upstream import card, instant_app, serve_in_thread

# Two instant model services with different cards: owner, price, one private.
PUBLIC = card("fraud-a", "olga", "public", "0.001", "0.0001")
PRIVATE = card("secret-b", "pete", "private", "0.002", "0")


@pytest.fixture(scope="session")
def postgres_url():
    # Not under pytest's tmp folder: that is private to root, and the server runs as postgres.
    tmp = Path(tempfile.mkdtemp(prefix="modelship-pg-"))
    try:
        with postgres_server(tmp) as url:
            yield url
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database of each kind (PostgreSQL: a new database on the shared server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'modelship.db'}"
        return
    server = request.getfixturevalue("postgres_url")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield server.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def engine(database_url):
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine):
    return session_factory(engine)


@pytest.fixture(scope="session")
def upstreams():
    with serve_in_thread(instant_app(PUBLIC)) as a, serve_in_thread(instant_app(PRIVATE)) as b:
        yield [a, b]


ADMIN = "admin-secret-for-tests"


@pytest.fixture(scope="session")
def model_service(tmp_path_factory):
    """A real baked ``fraud-detector`` (public, owned by olga, 0.001 a call and 0.0001 a row),
    trained and served once for every module that needs one (it takes about a minute)."""
    from modelship_platform.test_baked_model import serve_baked

    yield from serve_baked(
        tmp_path_factory, "fraud-detector", owner="olga", price_per_call="0.001",
        price_per_row="0.0001",
    )  # fmt: skip


@pytest.fixture
def settings(database_url, upstreams):
    return Settings(
        database_url=database_url,
        models=upstreams,
        admin_key=ADMIN,
        # Generous: the instant models are threads of the test process, which under a loaded
        # CI (and beside a test's own client threads) can wait over a second for the GIL. The
        # timeout test sets its own.
        request_timeout_s=30.0,
        hold_ttl_s=60,
    )


@contextmanager
def billing_served(settings: Settings, **overrides) -> Iterator[tuple[str, httpx.Client]]:
    """The billing service on loopback (``settings`` with ``overrides``): its URL and an admin
    client."""
    app = create_app(settings.model_copy(update=overrides) if overrides else settings)
    with (
        serve_in_thread(app) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
        ) as admin,
    ):
        yield url, admin


@pytest.fixture
def gateway(settings):
    with billing_served(settings) as served:
        yield served
