"""Alembic, driven from code: the config is built here, no ``alembic.ini`` to ship."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

log = logging.getLogger("modelship.db")
MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x6D6F64656C736870  # pg_advisory_lock key: "modelshp"
#: One folder per app; each is its own Alembic branch (see the package docstring).
VERSION_FOLDERS = sorted(
    p for p in MIGRATIONS.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_locations", " ".join(str(p) for p in VERSION_FOLDERS))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, target: str = "heads") -> None:
    command.upgrade(alembic_config(engine), target)


def _behind(engine: Engine) -> bool:
    """Whether some app's migrations are not applied yet (an empty database: all of them). A
    database a newer version migrated (revisions this one does not know: an image rolled back)
    is left as it is, with a warning."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    unknown = current - {r.revision for r in script.walk_revisions()}
    if unknown:
        log.warning("the database has migrations this version lacks (%s): left as it is", unknown)
        return False
    return current != set(script.get_heads())


def upgrade_on_start(engine: Engine) -> bool:
    """Bring the database to every app's head as a service starts: an empty one (the first
    start) or one that an older version left behind (a new image rolled out: no one has to
    remember `modelship db upgrade`). On PostgreSQL under an advisory lock, so replicas that
    start together migrate once: the others wait, then find it done. True if it migrated."""
    if not _behind(engine):
        return False
    if engine.dialect.name != "postgresql":
        upgrade(engine)
        return True
    lock = {"key": MIGRATION_LOCK}
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), lock)
        conn.commit()  # the lock is the session's: it outlives the transaction
        try:
            if not _behind(engine):  # another replica migrated while this one waited
                return False
            upgrade(engine)
            return True
        finally:  # a pooled connection would keep the lock: let it go explicitly
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
            conn.commit()
