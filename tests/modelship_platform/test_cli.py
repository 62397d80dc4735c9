"""The ``modelship`` console script, as a user runs it."""

import subprocess

from modelship import ledger
from modelship.db import make_engine, session_factory
from modelship.db.models import Account
from modelship.keys import authenticate
from sqlalchemy import select

from modelship_platform import SCRIPT


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


def test_set_password_reads_standard_input_and_stores_an_argon2_hash(tmp_path):
    from modelship.catalog.models import Password
    from modelship.catalog.passwords import check_sign_in

    url = f"sqlite:///{tmp_path / 'm.db'}"
    made = _run(url, "admin", "create-account", "eve", "--role", "consumer", "--email", "e@x.io")
    assert made.returncode == 0
    env = {"MODELSHIP_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    secret = "a long passphrase"

    def set_password(name, text):
        return subprocess.run([str(SCRIPT), "admin", "set-password", name], input=text,
                              capture_output=True, text=True, env=env, timeout=60, check=False)  # fmt: skip

    done = set_password("eve", secret + "\n")
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    assert set_password("eve", "short\n").returncode == 2
    assert set_password("nobody", secret + "\n").returncode == 1
    db = session_factory(make_engine(url))
    with db() as s:
        assert s.scalars(select(Password.hash)).one().startswith("$argon2id$")
        assert check_sign_in(s, "E@x.io", secret).name == "eve"
        assert check_sign_in(s, "e@x.io", "wrong password") is None
