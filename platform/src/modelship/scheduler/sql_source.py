"""``sql://<connection>?query=SELECT ...``: rows from a database named in the settings.

The database URL comes only from ``SQL_CONNECTIONS[<connection>]`` (in a cluster, a Secret): it is
never stored, logged or returned; errors name the connection, never its URL. Only one
``SELECT`` (or ``WITH ... SELECT``) statement is accepted, and it runs in a read-only
transaction, so a query that tries to write fails in the database as well.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pyarrow as pa
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from modelship.scheduler.errors import InputError
from modelship.settings import Settings

_WRITES = re.compile(
    r"\b(insert|update|delete|merge|create|alter|drop|truncate|grant|revoke|copy|call|do|"
    r"vacuum|lock|set|reset|execute|prepare|listen|notify|into)\b",
    re.IGNORECASE,
)


def parse_sql_uri(uri: str) -> tuple[str, str]:
    """(connection, query) of a sql:// URI; the query must be one read-only SELECT."""
    parsed = urlparse(uri)
    connection = parsed.netloc
    queries = parse_qs(parsed.query).get("query", [])
    if not connection:
        raise InputError("input_uri", "sql://<connection>?query=...: the connection is missing")
    if len(queries) != 1 or not queries[0].strip():
        raise InputError("input_uri", "sql://<connection>?query=...: give one query")
    query = queries[0].strip().rstrip(";").strip()
    head = query.split(None, 1)[0].lower() if query else ""
    if head not in ("select", "with") or ";" in query or _WRITES.search(query):
        raise InputError("query", "only one read-only SELECT statement is accepted")
    return connection, query


def _reason(exc: SQLAlchemyError) -> str:
    """The database's own message (no URL, no parameters), e.g. 'relation "x" does not exist'."""
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    message = getattr(diag, "message_primary", None) or (str(orig) if orig else "")
    return message.splitlines()[0][:300] if message else type(exc).__name__


def read_sql(uri: str, settings: Settings) -> pa.Table:
    connection, query = parse_sql_uri(uri)
    secret = settings.sql_connections.get(connection)
    if secret is None:
        raise InputError("input_uri", f"unknown connection {connection!r}", 400)
    url = secret.get_secret_value()
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain) :]
    engine = create_engine(url, hide_parameters=True)
    try:
        with engine.connect() as conn:
            try:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                elif conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = ON")
            except DBAPIError:
                raise InputError(
                    "input_uri", f"connection {connection!r} unavailable", 502
                ) from None
            try:
                result = conn.exec_driver_sql(query)
                names = list(result.keys())
                rows = result.fetchall()
            except SQLAlchemyError as exc:
                raise InputError("query", f"the database refused it: {_reason(exc)}") from None
            conn.rollback()
    except InputError:
        raise
    except SQLAlchemyError:
        raise InputError("input_uri", f"connection {connection!r} unavailable", 502) from None
    finally:
        engine.dispose()
    return pa.table({n: pa.array([r[i] for r in rows]) for i, n in enumerate(names)})
