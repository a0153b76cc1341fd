"""API users in the central store: who they are, their role and ward, their secrets' hashes."""

from dataclasses import dataclass
from datetime import datetime

from central.core.security import hash_secret, new_token
from central.store.base import CentralStore
from central.store.records import iso

ROLES = ("operator", "ward", "gateway")


@dataclass(frozen=True)
class User:
    """One API user; ``ward`` is set for ward officials and gateways."""

    name: str
    role: str
    ward: str | None
    token_hash: str
    password_hash: str | None
    created_at: str
    revoked_at: str | None


_COLUMNS = "name, role, ward, token_hash, password_hash, created_at, revoked_at"


class UserError(ValueError):
    """A user that cannot be added or changed as asked."""


def add_user(store: CentralStore, name: str, role: str, ward: str | None, password: str | None, now: datetime) -> str:
    """Create (or re-issue, if revoked) a user; returns the bearer token, shown once."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if (role == "operator") != (ward is None):
        raise UserError("ward officials and gateways need a ward; IOC operators have none")
    if not name or "." in name or ":" in name or len(name) > 64:
        raise UserError("a user name is 1-64 characters without '.' or ':'")
    token = new_token(name)
    with store.transaction() as tx:
        row = tx.execute("SELECT revoked_at FROM users WHERE name = ?", (name,)).fetchone()
        if row is not None and row[0] is None:
            raise UserError(f"user {name!r} exists; revoke it first to issue a new token")
        tx.execute(
            f"INSERT INTO users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (name) DO UPDATE SET "  # noqa: S608
            "role = excluded.role, ward = excluded.ward, token_hash = excluded.token_hash, "
            "password_hash = excluded.password_hash, created_at = excluded.created_at, revoked_at = NULL",
            (name, role, ward, hash_secret(token.split(".", 1)[1]),
             None if password is None else hash_secret(password), iso(now)),
        )
    return token


def revoke_user(store: CentralStore, name: str, now: datetime) -> bool:
    """Revoke a user's token and password at once; False if no such active user."""
    with store.transaction() as tx:
        cur = tx.execute("UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (iso(now), name))
        return cur.rowcount == 1


def get_user(store: CentralStore, name: str) -> User | None:
    """One user by name (revoked ones too)."""
    row = store.read_one(f"SELECT {_COLUMNS} FROM users WHERE name = ?", (name,))  # noqa: S608
    return None if row is None else User(*row)


def list_users(store: CentralStore) -> list[User]:
    """Every user, by name."""
    return [User(*r) for r in store.read_all(f"SELECT {_COLUMNS} FROM users ORDER BY name")]  # noqa: S608
