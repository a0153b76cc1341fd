"""Secrets at rest: scrypt hashes (stdlib), constant-time checks, fresh tokens."""

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field

_N, _R, _P = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    """``scrypt$n$r$p$salt$hash`` of a token or password, with a fresh salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a hash made by hash_secret."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        mine = hashlib.scrypt(
            secret.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except ValueError:
        return False
    return hmac.compare_digest(mine.hex(), digest)


def new_token(name: str) -> str:
    """A bearer token ``<user>.<secret>``: the user part finds the row, the secret is checked against its hash."""
    return f"{name}.{secrets.token_urlsafe(32)}"


@dataclass
class VerifiedSecrets:
    """Secrets already checked against a hash (scrypt is slow on purpose); keyed by the hash they matched."""

    seen: set[tuple[str, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def known(self, secret: str, stored: str) -> bool:
        """Whether this secret was verified against this hash before (no scrypt: cheap enough to ask first)."""
        with self.lock:
            return (hashlib.sha256(secret.encode()).hexdigest(), stored) in self.seen

    def check(self, secret: str, stored: str) -> bool:
        """verify_secret, remembered per (secret digest, stored hash); a new hash (re-issue) is checked afresh."""
        if self.known(secret, stored):
            return True
        key = (hashlib.sha256(secret.encode()).hexdigest(), stored)
        if not verify_secret(secret, stored):
            return False
        with self.lock:
            self.seen.add(key)
        return True
