"""PostgreSQL: ledger steps run on the event loop, with psycopg's async connections.

The gateway's hold and settle are one statement each on PostgreSQL (``transfer.one_statement``).
Run through the blocking driver, each needed a hop to a worker thread and back — about a seventh
of the gateway's CPU per call at concurrency 32, in thread hand-offs and GIL switches — and
SQLAlchemy's execution layer for a statement that is already built. Here the same statement is
compiled to SQL once per shape and sent on a pooled autocommit ``AsyncConnection``: the same
guard, the same writes, the same all-or-nothing; only the way to the server is shorter.

SQLite keeps the blocking path: its writers queue on the file lock, which a thread may wait on.
"""

from __future__ import annotations

import asyncio

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from modelship.transfer import DEADLOCK, Step, one_statement


class AsyncSteps:
    """At most ``size`` connections, opened when first needed and kept."""

    def __init__(self, engine: Engine, size: int = 20) -> None:
        url = engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._dialect = engine.dialect
        self._idle: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()
        self._opened = 0
        self._size = size
        self._sql: dict[int, tuple[str, dict]] = {}

    def _compiled(self, stmt) -> tuple[str, dict]:
        """The SQL of ``stmt`` and the values it binds itself (``state = 'pending'``, ...)."""
        found = self._sql.get(id(stmt))
        if found is None:  # statements are built once per shape and kept: their ids are stable
            compiled = stmt.compile(dialect=self._dialect)
            found = self._sql[id(stmt)] = (str(compiled), dict(compiled.params))
        return found

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._idle.empty() and self._opened < self._size:
            self._opened += 1
            try:
                return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            except BaseException:
                self._opened -= 1
                raise
        return await self._idle.get()

    async def apply(self, step: Step) -> bool:
        """``transfer.apply`` on the event loop: True when the guard passed."""
        stmt, bound = one_statement(step)
        sql, own = self._compiled(stmt)
        bound = own | bound
        for attempt in range(3):
            conn = await self._connection()
            broken = False
            try:
                cursor = await conn.execute(sql, bound)
                return (await cursor.fetchone())[0] == 1
            except psycopg.errors.IntegrityError as exc:  # e.g. an idempotency key claimed
                raise IntegrityError(sql, bound, exc) from exc
            except psycopg.OperationalError as exc:  # a deadlock victim wrote nothing: again
                broken = conn.broken
                if exc.sqlstate != DEADLOCK or attempt == 2:
                    raise
            except BaseException:
                broken = True  # cancelled mid-statement: the connection's state is unknown
                raise
            finally:
                if broken:
                    self._opened -= 1
                    await conn.close()
                else:
                    self._idle.put_nowait(conn)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        while not self._idle.empty():
            await self._idle.get_nowait().close()
        self._opened = 0
