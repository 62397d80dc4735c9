"""Alembic, driven from code: the config is built here, no ``alembic.ini`` to ship."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

MIGRATIONS = Path(__file__).parent / "migrations"
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


def upgrade_if_empty(engine: Engine) -> bool:
    """Migrate a database that has no tables yet (a service's first start); True if it did."""
    if inspect(engine).get_table_names():
        return False
    upgrade(engine)
    return True
