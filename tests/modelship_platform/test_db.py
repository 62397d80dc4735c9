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
    base = script.get_revision("billing@head")
    assert "billing" in base.branch_labels
    revisions = {r.revision: r for r in script.walk_revisions()}
    assert "billing_0001" in revisions
    # every other app's folder is a branch of its own, with its first revision labelled
    firsts = [r for r in revisions.values() if r.down_revision is None]
    assert all(r.branch_labels for r in firsts)
    assert script.get_revision("scheduler@head").revision == "scheduler_0001"
