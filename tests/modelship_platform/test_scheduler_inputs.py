"""Bad job inputs are 4xx naming the problem, with nothing queued or charged; SQL inputs come
from a named connection (the real PostgreSQL server) whose URL never leaves the settings."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pyarrow.csv
import pytest
from modelship.db import make_engine
from pydantic import SecretStr
from sqlalchemy import text

from modelship_platform.conftest import ADMIN
from modelship_platform.scheduler_parts import SCORER, customer, platform, scoring_app, wait_for
from modelship_platform.upstream import serve_in_thread

PASSWORD = "pg-secret-Zx81"


@pytest.fixture(scope="module")
def scorer():
    with serve_in_thread(scoring_app(SCORER, max_rows=100)) as url:
        yield url


@pytest.fixture(scope="module")
def warehouse(postgres_url):
    """A database with a table of rows, and its URL with a password (trust auth ignores it)."""
    name = f"w_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0].replace("postgres@", f"postgres:{PASSWORD}@") + f"/{name}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE rows (x double precision, n bigint, note text)"))
        conn.execute(
            text("INSERT INTO rows SELECT g * 0.5, g, 'row ' || g FROM generate_series(0, 249) g")
        )
    engine.dispose()
    yield url
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def test_sql_input_and_bad_inputs(database_url, scorer, warehouse, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    allowed = tmp_path / "inputs"
    allowed.mkdir()
    (allowed / "rows.json").write_text(json.dumps([{"x": 1.5, "n": 1}, {"x": 2, "n": 2}]))
    (tmp_path / "outside.csv").write_text("x,n\n1,2\n")
    connections = {"warehouse": SecretStr(warehouse)}
    with platform(database_url, [scorer], tmp_path / "r", sql_connections=connections,
                  input_folders=[str(allowed)]) as (url, admin, billing_url):  # fmt: skip
        billing, jobs = customer(billing_url, admin, url)
        answers = []

        def refused(status: int, *words: str, **kwargs) -> None:
            answer = jobs.post("/v1/jobs", **kwargs)
            answers.append(answer.text)
            assert answer.status_code == status, answer.text
            detail = json.dumps(answer.json())
            assert all(w in detail for w in words), detail

        def by_uri(uri: str) -> dict:
            return {"json": {"model": "scorer", "input_uri": uri}}

        refused(
            422,
            "file",
            "not a readable PARQUET",
            data={"model": "scorer"},
            files={"file": ("x.parquet", b"not parquet at all")},
        )
        refused(
            415,
            "file",
            "unknown format",
            data={"model": "scorer"},
            files={"file": ("x.xlsx", b"PK..")},
        )
        refused(
            422,
            "columns",
            "missing n",
            data={"model": "scorer"},
            files={"file": ("x.csv", b"x,other\n1,2\n")},
        )
        bad_rows = b"x,n\n1,2\nabc,3\n4,\n5,6.5\n"
        refused(
            422,
            '"line": 3',
            "'abc' is not a double",
            '"line": 4',
            "empty",
            '"line": 5',
            "6.5",
            data={"model": "scorer"},
            files={"file": ("x.csv", bad_rows)},
        )
        refused(
            422,
            '"record": 2',
            "'many' is not a long",
            data={"model": "scorer"},
            files={"file": ("x.json", b'[{"x": 1, "n": 1}, {"x": 1, "n": "many"}]')},
        )
        refused(422, "query", "SELECT", **by_uri("sql://warehouse?query=DELETE FROM rows"))
        refused(422, "query", "SELECT", **by_uri("sql://warehouse?query=SELECT 1; DROP TABLE rows"))
        refused(400, "unknown connection 'nowhere'", **by_uri("sql://nowhere?query=SELECT 1"))
        refused(
            422, "query", "does not exist", **by_uri("sql://warehouse?query=SELECT * FROM nope")
        )
        refused(403, "input_uri", "not under a folder", **by_uri(str(tmp_path / "outside.csv")))
        refused(404, "input_uri", "does not exist", **by_uri(str(allowed / "missing.csv")))
        refused(404, "model", "no model 'nope'", data={"model": "nope"},
                files={"file": ("x.csv", b"x,n\n1,2\n")})  # fmt: skip
        for hook in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "ftp://x.org/"):
            word = "must be an http(s) URL" if hook.startswith("ftp") else "not a public address"
            refused(422, "webhook_url", word, data={"model": "scorer", "webhook_url": hook},
                    files={"file": ("x.csv", b"x,n\n1,2\n")})  # fmt: skip
        assert jobs.get("/v1/jobs").json()["total"] == 0
        me = billing.get("/v1/me").json()
        assert (me["balance"], me["held"]) == ("1.000000", "0.000000")
        assert admin.get("/v1/admin/ledger").json()["open_holds"] == 0

        query = "sql://warehouse?query=SELECT x, n, note FROM rows ORDER BY n"
        sent = jobs.post("/v1/jobs", json={"model": "scorer", "input_uri": query})
        assert sent.status_code == 202, sent.text
        done = wait_for(jobs, sent.json()["id"])
        assert (done["status"], done["rows_done"]) == ("succeeded", 250)
        assert done["source"] == "sql://warehouse"
        table = pyarrow.csv.read_csv(io.BytesIO(jobs.get(f"/v1/jobs/{done['id']}/result").content))
        assert table["prediction"].to_pylist() == [g * 0.5 * 2 + g for g in range(250)]
        local = jobs.post(
            "/v1/jobs", json={"model": "scorer", "input_uri": str(allowed / "rows.json")}
        )
        assert wait_for(jobs, local.json()["id"])["rows_done"] == 2
        answers += [json.dumps(j) for j in jobs.get("/v1/jobs").json()["items"]]
    secrets = [PASSWORD, warehouse, ADMIN, jobs.headers["authorization"].split()[1]]
    for secret in secrets:
        assert not any(secret in a for a in answers)
        assert secret not in caplog.text
