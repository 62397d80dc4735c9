"""Migrations: shipped in the package, one branch per app, applied on start when empty."""

from alembic.script import ScriptDirectory
from modelship.db import make_engine, upgrade_if_empty
from modelship.db.migrate import alembic_config
from sqlalchemy import inspect

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


def test_upgrade_if_empty_migrates_once(database_url):
    engine = make_engine(database_url)
    assert upgrade_if_empty(engine) is True
    tables = set(inspect(engine).get_table_names())
    assert BILLING_TABLES <= tables and "alembic_version" in tables
    assert upgrade_if_empty(engine) is False
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
