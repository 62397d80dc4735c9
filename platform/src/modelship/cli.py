"""The ``modelship`` command: database migrations and account administration."""

from __future__ import annotations

import argparse
import sys
import uuid

from sqlalchemy import select

from modelship import ledger
from modelship.db import make_engine, session_factory, upgrade
from modelship.db.models import ROLES, Account
from modelship.keys import create_key
from modelship.money import AmountError, format_amount, parse_amount
from modelship.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="modelship", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("billing", help="serve the billing gateway (MODELSHIP_HOST, MODELSHIP_PORT)")
    sub.add_parser("catalog", help="serve the catalog pages (MODELSHIP_BILLING_URL for billing)")
    sub.add_parser("scheduler", help="serve the jobs API and run one worker in the process")
    sub.add_parser("worker", help="run a scheduler worker alone (claims and scores jobs)")
    db = sub.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply every app's migrations (alembic upgrade heads)")
    admin = sub.add_parser("admin", help="accounts, keys, top-ups")
    acts = admin.add_subparsers(dest="action", required=True)
    ca = acts.add_parser("create-account")
    ca.add_argument("name")
    ca.add_argument("--role", choices=[r for r in ROLES if r != "system"], required=True)
    ca.add_argument("--email")
    ck = acts.add_parser("create-key", help="prints the key once")
    ck.add_argument("name")
    sp = acts.add_parser("set-password", help="a catalog password, read from standard input")
    sp.add_argument("name")
    tu = acts.add_parser("topup")
    tu.add_argument("name")
    tu.add_argument("amount", help='decimal, e.g. "5.00"')
    tu.add_argument("--idempotency-key", default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "billing":
        from modelship.billing.app import serve

        serve()
        return 0
    if args.command == "catalog":
        from modelship.catalog.app import serve as serve_catalog

        serve_catalog()
        return 0
    if args.command == "scheduler":
        from modelship.scheduler.app import serve as serve_scheduler

        serve_scheduler()
        return 0
    if args.command == "worker":
        from modelship.scheduler.app import work

        work()
        return 0
    engine = make_engine(get_settings().database_url)
    if args.command == "db":
        upgrade(engine)
        print("database at the latest revision of every app")
        return 0
    upgrade(engine)
    db = session_factory(engine)
    if args.action == "create-account":
        with db.begin() as s:
            if s.scalar(select(Account.id).where(Account.name == args.name)) is not None:
                print(f"account {args.name!r} exists", file=sys.stderr)
                return 1
            ledger.ensure_account(s, args.name, args.role, args.email)
        print(f"account {args.name} ({args.role}) created")
        return 0
    if args.action == "create-key":
        with db.begin() as s:
            account_id = s.scalar(select(Account.id).where(Account.name == args.name))
            if account_id is None:
                print(f"no account {args.name!r}", file=sys.stderr)
                return 1
            key, _prefix = create_key(s, account_id)
        print(key)
        return 0
    if args.action == "set-password":
        return set_password(db, args.name)
    try:
        amount = parse_amount(args.amount)
    except AmountError as exc:
        print(f"amount: {exc}", file=sys.stderr)
        return 2
    try:
        ledger.topup(db, args.name, amount, args.idempotency_key or f"cli:{uuid.uuid4()}")
    except LookupError:
        print(f"no account {args.name!r}", file=sys.stderr)
        return 1
    except ledger.Conflict:
        print("idempotency key already used for another top-up", file=sys.stderr)
        return 1
    print(f"{args.name} credited {format_amount(amount)} {get_settings().currency}")
    return 0


def set_password(db, name: str) -> int:
    """The password comes from standard input (its first line), never from the command line."""
    from modelship.catalog.passwords import PasswordError
    from modelship.catalog.passwords import set_password as store

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"password of {name}: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with db.begin() as s:
            store(s, name, password)
    except LookupError:
        print(f"no account {name!r}", file=sys.stderr)
        return 1
    except PasswordError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"password of {name} set")
    return 0


if __name__ == "__main__":
    sys.exit(main())
