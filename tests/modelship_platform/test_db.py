"""Migrations: shipped in the package, one branch per app, applied on start when behind."""

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from modelship.db import make_engine, upgrade, upgrade_on_start
from modelship.db.migrate import alembic_config
from sqlalchemy import inspect, text

BILLING_TABLES = {
    "accounts",
    "api_keys",
    "balances",
    "holds",
    "ledger_entries",
    "topups",
    "grants",
    "idempotent_answers",
}


def test_upgrade_on_start_migrates_once(database_url):
    engine = make_engine(database_url)
    assert upgrade_on_start(engine) is True
    tables = set(inspect(engine).get_table_names())
    assert BILLING_TABLES <= tables and "alembic_version" in tables
    assert upgrade_on_start(engine) is False
    engine.dispose()


def test_billing_is_its_own_branch():
    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    roots = {r.revision: r.branch_labels for r in script.walk_revisions() if not r.down_revision}
    assert roots["billing_0001"] == {"billing"}
    # every app's folder is a branch of its own, its first revision labelled, no label twice
    assert all(roots.values())
    assert len({label for labels in roots.values() for label in labels}) == len(roots)
    assert script.get_revision("billing@head").revision == "billing_0004"
    assert script.get_revision("catalog@head").revision == "catalog_0001"
    assert script.get_revision("scheduler@head").revision == "scheduler_0001"


def test_a_database_an_older_version_left_is_brought_to_head(database_url):
    """A new image rolled out over a database of the one before: its migration runs on start."""
    engine = make_engine(database_url)
    upgrade(engine)
    command.downgrade(alembic_config(engine), "billing@billing_0003")
    assert "settle_key" not in {c["name"] for c in inspect(engine).get_columns("holds")}
    assert upgrade_on_start(engine) is True
    assert "settle_key" in {c["name"] for c in inspect(engine).get_columns("holds")}
    assert upgrade_on_start(engine) is False
    engine.dispose()


def test_a_database_a_newer_version_migrated_is_left_alone(database_url, caplog):
    """An image rolled back: the service starts on the newer schema instead of failing."""
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'billing_9999' "
                          "WHERE version_num = 'billing_0004'"))  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="modelship.db"):
        assert upgrade_on_start(engine) is False
    assert "billing_9999" in caplog.text
    engine.dispose()


@pytest.mark.timeout(120)  # without the lock, concurrent migrations wait on each other's DDL
def test_replicas_starting_together_migrate_once(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite: one process owns the file (the advisory lock is PostgreSQL's)")
    engines = [make_engine(database_url) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        migrated = list(pool.map(upgrade_on_start, engines))
    assert sorted(migrated) == [False, False, True]
    for engine in engines:
        engine.dispose()
