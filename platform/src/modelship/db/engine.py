"""Engines for SQLite and PostgreSQL with the same transaction semantics.

SQLite writers serialise: every transaction starts with ``BEGIN IMMEDIATE`` so two writers never
both read a balance and then fail to upgrade their lock; a busy timeout makes them queue.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    # The URL of a CloudNativePG Secret names no driver: psycopg (v3) is ours.
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain) :]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pre-ping: it is a round trip per checkout. A connection the server dropped fails its
    # statement (nothing written: every ledger step is atomic) and SQLAlchemy then discards the
    # whole pool; recycling bounds how stale a pooled connection can get.
    return create_engine(url, pool_size=20, max_overflow=20, pool_recycle=300)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
