"""The demo's generated operator account: a private credentials file and a password that logs in."""

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central.core.security import verify_secret
from central.store.sqlite import SqliteStore
from central.store.users import get_user
from simulations.demo_operator import DEMO_OPERATOR, create_demo_operator

NOW = datetime(2025, 11, 15, 12, 0, tzinfo=UTC)


@pytest.mark.unit
def test_the_demo_operator_gets_a_random_password_in_a_0600_file(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "central.db")
    try:
        first = create_demo_operator(store, tmp_path, NOW)
        assert stat.S_IMODE(first.credentials_path.stat().st_mode) == 0o600
        text = first.credentials_path.read_text(encoding="utf-8")
        assert f"user: {DEMO_OPERATOR}\npassword: {first.password}\n" in text
        user = get_user(store, DEMO_OPERATOR)
        assert user is not None
        assert (user.role, user.ward) == ("operator", None)
        assert user.password_hash is not None
        assert verify_secret(first.password, user.password_hash)
        # A kept workdir: the next run re-issues the account with a new password.
        second = create_demo_operator(store, tmp_path, NOW)
        assert second.password != first.password
        again = get_user(store, DEMO_OPERATOR)
        assert again is not None
        assert again.password_hash is not None
        assert again.revoked_at is None
        assert verify_secret(second.password, again.password_hash)
        assert not verify_secret(first.password, again.password_hash)
        assert list(tmp_path.glob(".operator-credentials*")) == []  # no temp file left behind
    finally:
        store.close()
