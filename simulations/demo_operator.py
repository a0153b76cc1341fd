"""The demo's IOC operator: an account generated at start so the dashboard can be logged into.

Its password is random per run, shown in the terminal banner and written to a 0600 file in the demo's
workdir; it never goes into the JSON summary (which CI logs keep).
"""

import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from central.store.base import CentralStore
from central.store.users import add_user, get_user, revoke_user

DEMO_OPERATOR = "demo-operator"
CREDENTIALS_FILE = "operator-credentials.txt"


@dataclass(frozen=True)
class DemoOperator:
    """The generated account: its name, password, bearer token and the file that holds them."""

    name: str
    password: str
    token: str
    credentials_path: Path


def _write_private(path: Path, text: str) -> None:
    # mkstemp creates the file 0600 from the start; the rename makes it appear whole.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def create_demo_operator(store: CentralStore, workdir: Path, now: datetime) -> DemoOperator:
    """A fresh operator account (re-issued if a kept workdir has one) and its 0600 credentials file."""
    existing = get_user(store, DEMO_OPERATOR)
    if existing is not None and existing.revoked_at is None:
        revoke_user(store, DEMO_OPERATOR, now)
    password = secrets.token_urlsafe(12)
    token = add_user(store, DEMO_OPERATOR, "operator", None, password, now)
    path = workdir / CREDENTIALS_FILE
    _write_private(path, f"user: {DEMO_OPERATOR}\npassword: {password}\ntoken: {token}\n")
    return DemoOperator(DEMO_OPERATOR, password, token, path)
