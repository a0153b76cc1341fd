"""A FUSE filesystem that forgets every write not yet fsynced when its power is cut.

It mirrors a backing directory (the "disk"). Names (create, rename, unlink, mkdir) reach the disk at
once, as a journalled filesystem's metadata does; file *contents* written since the last ``fsync`` of
that file live only in this process's memory, page by page, and are read back from there. ``fsync``
writes them to the disk. Killing this process (SIGKILL) is the power cut: the disk keeps exactly what
was synced, and whoever ACKed something it had not synced is caught by the ledger after a restart.

The strictest honest model: a real disk may keep some unsynced writes, never more than were written;
losing all of them is the case durability code must survive. Run as its own process, so that a power
cut is a kill and libfuse's signal handlers never meet the campaign's::

    python -m simulations.faults.power_loss_fs BACKING_DIR MOUNTPOINT
"""

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mfusepy

PAGE = 4096


@dataclass
class VolatileFile:
    """One file's contents written since its last fsync: dirty pages over the disk's bytes."""

    size: int  # the size the file has for its readers now
    low_water: int  # the smallest size since the last fsync: the disk's bytes past it read as zeros
    pages: dict[int, bytearray] = field(default_factory=dict)


class PowerLossFs(mfusepy.Operations):  # type: ignore[misc]
    # (No attribute may be named after an operation: libfuse is handed every one that exists, "lock" too.)
    use_ns = True  # utimens gets nanoseconds
    """Pass-through to ``backing``, with file contents volatile until fsync."""

    def __init__(self, backing: Path) -> None:
        self.backing = backing
        self.files: dict[str, VolatileFile] = {}
        self._mutex = threading.Lock()
        self.synced = 0  # fsyncs that wrote something, for the log

    def _real(self, path: str) -> str:
        return str(self.backing) + path

    # --- contents --------------------------------------------------------------------------------

    def _disk_page(self, path: str, index: int, vf: VolatileFile | None) -> bytearray:
        page = bytearray(PAGE)
        try:
            fd = os.open(self._real(path), os.O_RDONLY)
        except FileNotFoundError:
            return page
        try:
            data = os.pread(fd, PAGE, index * PAGE)
        finally:
            os.close(fd)
        if vf is not None:  # bytes past a truncation since the last sync are gone for readers
            data = data[: max(0, vf.low_water - index * PAGE)]
        page[: len(data)] = data
        return page

    def _page(self, path: str, index: int, vf: VolatileFile) -> bytearray:
        page = vf.pages.get(index)
        if page is None:
            page = vf.pages[index] = self._disk_page(path, index, vf)
        return page

    def _volatile(self, path: str) -> VolatileFile:
        vf = self.files.get(path)
        if vf is None:
            size = os.stat(self._real(path)).st_size
            vf = self.files[path] = VolatileFile(size, size)
        return vf

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        """Dirty pages where there are some, the disk elsewhere."""
        with self._mutex:
            vf = self.files.get(path)
            if vf is None:
                fd = os.open(self._real(path), os.O_RDONLY)
                try:
                    return os.pread(fd, size, offset)
                finally:
                    os.close(fd)
            end = min(offset + size, vf.size)
            out = bytearray()
            pos = offset
            while pos < end:
                index, at = divmod(pos, PAGE)
                page = vf.pages.get(index) or self._disk_page(path, index, vf)
                take = min(PAGE - at, end - pos)
                out += page[at : at + take]
                pos += take
            return bytes(out)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        """Into memory only."""
        with self._mutex:
            vf = self._volatile(path)
            pos, done = offset, 0
            while done < len(data):
                index, at = divmod(pos, PAGE)
                take = min(PAGE - at, len(data) - done)
                self._page(path, index, vf)[at : at + take] = data[done : done + take]
                pos, done = pos + take, done + take
            vf.size = max(vf.size, offset + len(data))
            return len(data)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        """Volatile too: a file cut and not synced is whole again after the power cut."""
        with self._mutex:
            vf = self._volatile(path)
            vf.size, vf.low_water = length, min(vf.low_water, length)
            for index in [i for i in vf.pages if i * PAGE >= length]:
                del vf.pages[index]
            last = vf.pages.get(length // PAGE)
            if last is not None:
                at = length % PAGE
                last[at:] = bytes(PAGE - at)
            return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        """What was written reaches the disk."""
        with self._mutex:
            vf = self.files.pop(path, None)
            if vf is None:
                return 0
            fd = os.open(self._real(path), os.O_WRONLY)
            try:
                os.ftruncate(fd, vf.low_water)
                for index, page in sorted(vf.pages.items()):
                    start = index * PAGE
                    if start < vf.size:
                        os.pwrite(fd, bytes(page[: vf.size - start]), start)
                os.ftruncate(fd, vf.size)
            finally:
                os.close(fd)
            self.synced += 1
            return 0

    # --- names and attributes: durable at once ---------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        """The disk's attributes, with the size readers see now."""
        st = os.lstat(self._real(path))
        attrs = {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime",
                                             "st_mtime", "st_ctime")}
        with self._mutex:
            vf = self.files.get(path)
            if vf is not None:
                attrs["st_size"] = vf.size
        return attrs

    def readdir(self, path: str, fh: int) -> list[str]:
        """The disk's names."""
        return [".", "..", *os.listdir(self._real(path))]

    def open(self, path: str, flags: int) -> int:
        """Nothing to open: every call names its path."""
        if not os.path.exists(self._real(path)):
            raise mfusepy.FuseOSError(errno.ENOENT)
        if flags & os.O_TRUNC:
            self.truncate(path, 0)
        return 0

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        """A new, empty file (its name durable, its contents not)."""
        fd = os.open(self._real(path), os.O_WRONLY | os.O_CREAT, mode)
        os.close(fd)
        with self._mutex:
            self.files.pop(path, None)
        if os.stat(self._real(path)).st_size:
            self.truncate(path, 0)
        return 0

    def unlink(self, path: str) -> int:
        """Gone at once, with anything unsynced."""
        os.unlink(self._real(path))
        with self._mutex:
            self.files.pop(path, None)
        return 0

    def rename(self, old: str, new: str) -> int:
        """The name moves at once; unsynced contents move with it (and stay unsynced)."""
        os.rename(self._real(old), self._real(new))
        with self._mutex:
            self.files.pop(new, None)
            vf = self.files.pop(old, None)
            if vf is not None:
                self.files[new] = vf
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        """A directory."""
        os.mkdir(self._real(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        """No more directory."""
        os.rmdir(self._real(path))
        return 0

    def chmod(self, path: str, mode: int) -> int:
        """Permissions, on the disk."""
        os.chmod(self._real(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        """Owner, on the disk."""
        os.chown(self._real(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        """Times (nanoseconds), on the disk."""
        if times is None:
            os.utime(self._real(path))
        else:
            os.utime(self._real(path), ns=times)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        """The disk's free space."""
        st = os.statvfs(self._real(path))
        return {k: getattr(st, k) for k in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files",
                                            "f_ffree", "f_favail", "f_namemax")}


class PowerLossDisk:
    """A ``PowerLossFs`` process mounting ``backing`` on ``mountpoint``: mount, cut the power, mount again."""

    def __init__(self, backing: Path, mountpoint: Path, log: Any = None) -> None:
        self.backing, self.mountpoint, self.log = backing, mountpoint, log
        backing.mkdir(parents=True, exist_ok=True)
        mountpoint.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def mounted(self) -> bool:
        """Whether the filesystem is up (its process runs and the kernel shows the mount)."""
        return self.process is not None and self.process.poll() is None and os.path.ismount(self.mountpoint)

    def mount(self, timeout_s: float = 30.0) -> None:
        """Start the filesystem process and wait until the mount is there."""
        if self.mounted:
            return
        self._unmount()
        self.process = subprocess.Popen(  # noqa: S603 - our own module, by the interpreter running us
            [sys.executable, "-m", "simulations.faults.power_loss_fs", str(self.backing), str(self.mountpoint)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while not os.path.ismount(self.mountpoint):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the power-loss filesystem did not mount on {self.mountpoint} (exit "
                                   f"{self.process.poll()}): is /dev/fuse there, libfuse3 installed "
                                   "(scripts/setup.sh), and are we root?")
            time.sleep(0.02)

    def cut(self) -> None:
        """The power goes: the filesystem process dies with every unsynced write (SIGKILL)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None
        self._unmount()

    def _unmount(self) -> None:
        # A dead FUSE process leaves its mount behind ("transport endpoint is not connected"): detach it.
        if os.path.ismount(self.mountpoint) or _dead_mount(self.mountpoint):
            subprocess.run(["umount", "-l", str(self.mountpoint)], check=False, capture_output=True)  # noqa: S603, S607

    def close(self) -> None:
        """Unmount for good (nothing unsynced is kept: the same as a power cut)."""
        self.cut()


def _dead_mount(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ENOTCONN
    return False


def main(argv: list[str]) -> int:
    """Mount ``BACKING MOUNTPOINT`` in the foreground until killed or unmounted."""
    if len(argv) != 2:
        sys.stderr.write(__doc__ or "")
        return 2
    backing, mountpoint = Path(argv[0]), argv[1]
    # Single-threaded: one lock would serialise every call anyway, and the order of calls is the order
    # the kernel sent them. No attribute cache: a size must never be read stale across processes.
    mfusepy.FUSE(PowerLossFs(backing), mountpoint, foreground=True, nothreads=True, attr_timeout=0,
                 entry_timeout=0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
