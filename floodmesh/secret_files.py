"""Write files atomically, secrets readable by their owner only.

A crash or a full disk halfway through must never leave a broker with half a password file (every
client refused) or a key readable by others for a moment: write a temporary file in the same
directory with the final mode, fsync it, then rename it over the old one.
"""

import os
import tempfile
from pathlib import Path


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)  # before any byte is written: the secret is never world-readable
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private(path: Path, data: bytes | str) -> None:
    """Atomically write a secret (key, password, password hashes) with mode 0600."""
    _write_atomic(path, data.encode() if isinstance(data, str) else data, 0o600)


def write_public(path: Path, data: bytes | str) -> None:
    """Atomically write a file others may read (certificates, ACL, config) with mode 0644."""
    _write_atomic(path, data.encode() if isinstance(data, str) else data, 0o644)
