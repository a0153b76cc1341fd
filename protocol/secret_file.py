"""Files that hold secrets (node keys, broker passwords): written atomically and readable by their owner only.

A key file is written to a temporary file beside it, created 0600 with ``O_EXCL`` (never through an
existing file or a symlink), flushed to disk, renamed over the old one, and the directory entry flushed
too: a crash leaves either the old file or the new one, never half of one (half a registry locks nodes
out), and at no moment can another user read the keys. A key file other users can read is refused
when it is loaded, as ssh refuses a private key: its keys may already be copied, and an operator told
to run ``chmod 600`` fixes it in one step.
"""

import os
import stat
import tempfile
from pathlib import Path

PRIVATE_MODE = 0o600
_EXPOSING_BITS = stat.S_IRWXG | stat.S_IRWXO


class ExposedSecretFile(ValueError):
    """A secret file that group or others may read or write."""


def write_private(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` atomically, mode 0600, fsynced (file and directory)."""
    _replace_atomically(path, data, PRIVATE_MODE)


def write_public(path: Path, data: bytes | str) -> None:
    """The same for a file others may read (certificates, ACL, config): mode 0644."""
    _replace_atomically(path, data, 0o644)


def _replace_atomically(path: Path, data: bytes | str, mode: int) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    # mkstemp: O_CREAT | O_EXCL, mode 0600, a random name in the same directory (so the rename is atomic).
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)  # exactly this mode whatever the umask, before a byte is written
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries, so a rename inside it survives a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def require_private(path: Path) -> None:
    """Raise ExposedSecretFile (saying the ``chmod`` to run) if group or others have any access to ``path``."""
    mode = path.stat().st_mode
    if mode & _EXPOSING_BITS:
        raise ExposedSecretFile(
            f"{path} holds keys but is open to other users (mode {stat.S_IMODE(mode):04o}); its keys may "
            f"already be copied. Run: chmod 600 {path}  (and re-provision the nodes if others could read it)"
        )
