"""The ``modelship`` console script, as a user runs it."""

import subprocess
import sys
from pathlib import Path

from modelship import ledger
from modelship.db import make_engine, session_factory
from modelship.db.models import Account
from modelship.keys import authenticate
from sqlalchemy import select

SCRIPT = Path(sys.executable).parent / "modelship"


def _run(url, *args):
    env = {"MODELSHIP_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, check=False, timeout=60
    )


def test_cli_session(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert _run(url, "db", "upgrade").returncode == 0
    assert _run(url, "admin", "create-account", "bob", "--role", "consumer").returncode == 0
    assert _run(url, "admin", "create-account", "bob", "--role", "consumer").returncode == 1
    key = _run(url, "admin", "create-key", "bob").stdout.strip()
    done = _run(url, "admin", "topup", "bob", "2.5")
    assert done.returncode == 0 and "2.500000 EUR" in done.stdout
    bad = _run(url, "admin", "topup", "bob", "0.0000001")
    assert bad.returncode == 2 and "amount" in bad.stderr
    db = session_factory(make_engine(url))
    with db() as s:
        assert authenticate(s, key).name == "bob"
        assert s.scalar(select(Account.role).where(Account.name == "bob")) == "consumer"
        assert ledger.books(s)["credits"] == 2_500_000
