"""Key files are written atomically, 0600 whatever the umask, fsynced; exposed ones are refused on load."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import secret_file
from protocol.secret_file import ExposedSecretFile, require_private, write_private

pytestmark = pytest.mark.unit


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which a plain write_text makes a world-readable file."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_written_0600_even_over_a_world_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("old")
    assert _mode(path) == 0o644
    write_private(path, "new")
    assert (path.read_text(), _mode(path)) == ("new", 0o600)
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temporary file left behind


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys.json"
    write_private(path, b"old keys")

    def crash(_src: object, _dst: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(secret_file.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        write_private(path, b"new keys")
    assert path.read_bytes() == b"old keys"
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]


def test_the_file_and_its_directory_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(secret_file.os, "fsync", fsync)
    write_private(tmp_path / "keys.json", "k")
    assert synced == ["file", "dir"]  # the data before the rename, the directory entry after it


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o610])
def test_a_file_other_users_can_reach_is_refused_with_the_chmod_to_run(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys.json"
    write_private(path, "k")
    path.chmod(mode)
    with pytest.raises(ExposedSecretFile, match=f"chmod 600 {path}"):
        require_private(path)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_an_owner_only_file_is_accepted(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys.json"
    write_private(path, "k")
    path.chmod(mode)
    require_private(path)
    assert _mode(path) == mode
