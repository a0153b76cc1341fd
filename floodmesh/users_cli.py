"""``floodmesh users add|revoke|list``: API users of central (IOC operators, ward officials, gateways).

Wire into floodmesh/cli.py with ``add_users_parser(sub)``; the parser's ``func`` is ``run_users``.
"""

import argparse
import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central.store.sqlite import CentralStore
from central.store.users import ROLES, UserError, add_user, list_users, revoke_user


def add_users_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``users`` subcommand to an ``add_subparsers()`` object."""
    users: argparse.ArgumentParser = sub.add_parser("users", help="manage central's API users and their tokens")
    users.add_argument("--db", type=Path, default=Path("central.db"), help="central's database")
    action = users.add_subparsers(dest="users_action", required=True)
    add = action.add_parser("add", help="add a user and print its bearer token (shown once)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--ward", help="ward code (ward officials and gateways)")
    add.add_argument("--password", action="store_true", help="also set a password (asked for) for HTTP Basic")
    revoke = action.add_parser("revoke", help="revoke a user's token and password")
    revoke.add_argument("name")
    action.add_parser("list", help="list users (never their secrets)")
    users.set_defaults(func=run_users)
    return users


def run_users(args: argparse.Namespace) -> int:
    """Carry out ``floodmesh users ...``; returns the exit status."""
    store = CentralStore(args.db)
    now = datetime.now(UTC)
    try:
        if args.users_action == "add":
            password = getpass.getpass(f"password for {args.name}: ") if args.password else None
            try:
                token = add_user(store, args.name, args.role, args.ward, password, now)
            except UserError as exc:
                print(f"floodmesh users: {exc}")
                return 2
            print(token)
            return 0
        if args.users_action == "revoke":
            if not revoke_user(store, args.name, now):
                print(f"floodmesh users: no active user {args.name!r}")
                return 1
            print(f"revoked {args.name}")
            return 0
        for u in list_users(store):
            state = f"revoked {u.revoked_at}" if u.revoked_at else "active"
            print(f"{u.name}\t{u.role}\t{u.ward or '-'}\t{state}\tsince {u.created_at}")
        return 0
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m floodmesh.users_cli users add ...``."""
    parser = argparse.ArgumentParser(prog="floodmesh")
    add_users_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_users(args)


if __name__ == "__main__":
    raise SystemExit(main())
