"""PostgreSQL: the gateway's holds and settles, many calls' at once (group commit).

Applied one by one, every hold and every settle was a statement, a commit and a round trip of its
own, each waking a server process: at concurrency 32 that cost PostgreSQL and the gateway about
1.6 ms of CPU per metered call, more than the whole budget of a fast model. Here a step waits
only while an earlier batch is on its way; whatever gathered meanwhile goes in one call of
``modelship_ledger_batch`` (migration ``billing_0003``): one round trip, one transaction. A
lone call (concurrency 1) is sent at once, so batching adds no wait; under load, batches grow
by themselves and the cost per call falls to a fifth.

A step's answer is what the database did: the caller's future resolves only after the batch has
committed (no spend queue, nothing answered before it is written). A failed batch fails each of
its callers' steps and wrote nothing; a deadlock victim (only against steps applied outside
batches, which lock in another order) is run again.

The batch takes the plain steps: holds that :func:`takes` accepts (no idempotency claim, no settle
key), and captures and releases of such holds with no stored answer or partial amount. The others
go through :func:`modelship.transfer.apply` unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from datetime import datetime

import psycopg
from sqlalchemy import Engine

from modelship.ledger import FREE_CLAIM, POST, VOID, HoldRequest, hold_step, now
from modelship.transfer import DEADLOCK, Step, one_statement

FUNCTION = "modelship_ledger_batch"
_SQL = f"SELECT held_steps, settled_steps FROM {FUNCTION}({', '.join(['%s'] * 21)})"


def has_function(engine: Engine) -> bool:
    """Whether the database has the batch function (migrated to ``billing_0003`` or later)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        return bool(conn.exec_driver_sql(f"SELECT to_regproc('{FUNCTION}') IS NOT NULL").scalar())


def _arguments(holds: list[Step], settles: list[Step], at: datetime) -> list:
    """The function's arguments: the holds' columns, then the settles', their ledger entries and
    their balance moves, each settle numbered by its place (from 1)."""
    rows = [step.rows[0][1][0] for step in holds]
    entries: list[tuple] = []  # (settle number, transfer id, account id, amount)
    moves: list[tuple] = []  # (settle number, account id, available delta, held delta)
    for n, step in enumerate(settles, 1):
        entries += [  # a capture's ledger rows (a release has none)
            (n, e["transfer_id"], e["account_id"], e["amount"])
            for _, items in step.rows
            for e in items
        ]
        moves += [(n, a, *step.moves[a]) for a in sorted(step.moves)]
    return [
        at,
        *([row[n] for row in rows] for n in _HOLD_COLUMNS),
        [step.params["p_key_id"] for step in holds],
        [row["expires_at"] for row in rows],
        [s.params["p_request_id"] for s in settles],
        [s.params["p_status_code"] for s in settles],
        [s.guard is POST for s in settles],
        *_columns(entries, 4),
        *_columns(moves, 4),
    ]


def takes(hold: HoldRequest) -> bool:
    """Whether a hold (and then its settle) can go in a batch: not one with an idempotency claim
    (its hold claims the key, its capture stores the answer) nor one with a settle key
    (/v1/authorize's); those go through :func:`modelship.transfer.apply`."""
    return hold.idempotency is None and hold.settle_key is None


def _columns(rows: list[tuple], width: int) -> list[list]:
    return [list(column) for column in zip(*rows)] if rows else [[] for _ in range(width)]


def _is_settle(step: Step) -> bool:
    return step.guard in (POST, VOID)


_HOLD_COLUMNS = ("request_id", "account_id", "owner_id", "model", "route", "rows", "amount")
Waiting = tuple[Step, asyncio.Future]  # a step and its answer


class LedgerBatches:
    """One batch on its way at a time, on one autocommit connection, at most ``most`` steps."""

    def __init__(self, engine: Engine, most: int = 512, gather_s: float = 0.001) -> None:
        url = engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._dialect = engine.dialect
        self._most = most
        self._waiting: list[Waiting] = []
        self._drain: asyncio.Task | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self._sql: dict[int, tuple[str, dict]] = {}
        self._gather_s = gather_s
        self._last = 0  # steps in the last batch
        self._enough: asyncio.Future | None = None  # set when as many are waiting
        self.batches = 0  # round trips that applied steps (for tests and figures)

    def hold(self, req: HoldRequest, ttl_s: float) -> Awaitable[bool]:
        """True when held; False when the balance is short or the key revoked (nothing written)."""
        assert takes(req), "goes through transfer.apply"
        return self._submit(hold_step(req, ttl_s))

    def settle(self, step: Step) -> Awaitable[bool]:
        """Apply the capture or release of a hold made without a claim (its release's claim
        delete is a no-op) and with no answer to store: True when it posted or voided it."""
        assert _is_settle(step), "a partial capture goes through transfer.apply"
        assert all(e is FREE_CLAIM for e in step.extra), "an answer goes through transfer.apply"
        return self._submit(step)

    def _submit(self, step: Step) -> asyncio.Future:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((step, done))
        enough = self._enough
        if enough is not None and not enough.done() and len(self._waiting) >= self._last:
            enough.set_result(None)
        if self._drain is None:
            self._drain = asyncio.ensure_future(self._run())
        return done

    async def _run(self) -> None:
        try:
            while self._waiting:
                await self._gather()
                taken, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
                try:
                    outcomes = await self._apply(taken)
                except BaseException as exc:  # rolled back: none of these steps happened
                    for _step, done in taken:
                        done.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
                    if not isinstance(exc, Exception):
                        raise
                    continue
                self.batches += 1
                self._last = len(taken)
                for done, outcome in outcomes:
                    done.set_result(outcome)
        finally:
            self._drain = None

    async def _gather(self) -> None:
        """Under load (the last batch had company), wait up to ``gather_s`` for as many steps as
        it had: fewer, fuller batches cost the database and the gateway less per step. A lone
        step (concurrency 1) is sent at once."""
        if self._last < 2 or len(self._waiting) >= self._last:
            return
        self._enough = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self._gather_s):
                await self._enough
        except TimeoutError:
            pass
        finally:
            self._enough = None

    async def _apply(self, taken: list[Waiting]) -> list[tuple[asyncio.Future, bool]]:
        """Each step's answer and whether its guard passed."""
        if len(taken) == 1:  # alone (concurrency 1): one statement is quicker than the function
            ((step, done),) = taken
            stmt, bound = one_statement(step)
            sql, own = self._compiled(stmt)
            return [(done, (await self._call(sql, own | bound))[0] == 1)]
        settles = [w for w in taken if _is_settle(w[0])]
        holds = sorted(
            (w for w in taken if not _is_settle(w[0])), key=lambda w: w[0].params["p_account_id"]
        )  # locked in account order
        steps = _arguments([w[0] for w in holds], [w[0] for w in settles], now())
        held, settled = await self._call(_SQL, steps)
        return [(done, n in held) for n, (_step, done) in enumerate(holds, 1)] + [
            (done, n in settled) for n, (_step, done) in enumerate(settles, 1)
        ]

    def _compiled(self, stmt) -> tuple[str, dict]:
        """The SQL of ``stmt`` and the values it binds itself (``state = 'pending'``, ...)."""
        found = self._sql.get(id(stmt))
        if found is None:  # statements are built once per shape and kept: their ids are stable
            compiled = stmt.compile(dialect=self._dialect)
            found = self._sql[id(stmt)] = (str(compiled), dict(compiled.params))
        return found

    async def _call(self, sql: str, arguments) -> tuple:
        for attempt in range(3):
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            try:
                cursor = await self._conn.execute(sql, arguments, prepare=True)
                return await cursor.fetchone()
            except psycopg.OperationalError as exc:  # a deadlock victim wrote nothing: again
                if self._conn.broken:
                    await self._conn.close()
                if exc.sqlstate != DEADLOCK or attempt == 2:
                    raise
            except BaseException:  # cancelled mid-call: the connection's state is unknown
                await self._conn.close()
                raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Apply what is waiting, then close the connection."""
        if self._drain is not None:
            with contextlib.suppress(Exception):
                await self._drain
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
