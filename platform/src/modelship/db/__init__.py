"""The platform's database layer: one SQLAlchemy 2 code base for SQLite and PostgreSQL.

Migrations are Alembic's, shipped in this package (``modelship/db/migrations``), one version
folder per app, each its own branch:

* ``migrations/billing/`` — branch label ``billing``: accounts, keys, holds, ledger; the base
  every other app stands on.

How another app (catalog, scheduler, ...) adds its tables:

1. Declare its models on :class:`modelship.db.models.Base` in its own module
   (e.g. ``modelship/catalog/models.py``), so ``Base.metadata`` knows them.
2. Create ``migrations/<app>/``: every folder there is a version location
   (:data:`VERSION_FOLDERS`).
3. Its first revision has ``down_revision = None``, ``branch_labels = ("<app>",)`` and
   ``depends_on = "billing_0001"`` (or the billing revision whose tables it references).
4. ``modelship db upgrade`` runs ``alembic upgrade heads``: every app's branch is applied,
   none conflicts with another's.
"""

from modelship.db.engine import make_engine, session_factory
from modelship.db.migrate import VERSION_FOLDERS, upgrade, upgrade_on_start

__all__ = ["VERSION_FOLDERS", "make_engine", "session_factory", "upgrade", "upgrade_on_start"]
