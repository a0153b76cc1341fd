"""A MicroPython "board" on a serial port: the unix port's REPL behind a pty, for ``mpremote``.

The unix port runs its REPL (friendly, raw and raw-paste, all as on a board) when its stdin is a tty,
so it gets the slave of one pty; ``mpremote`` opens the slave of a second pty, and a thread copies
bytes between the two masters, as ``socat`` would. The process's working directory plays the flash
filesystem.

One difference from a board is bridged here: the unix port has no soft reset. Ctrl-D in the raw REPL
(what ``mpremote`` sends on connecting) ends the process instead. A board's soft reset restarts the VM
and keeps the filesystem, so that is what the bridge does: it starts the unix port again in the same
directory, back in raw mode, and tells the host ``MPY: soft reboot`` as a board would.
"""

import os
import select
import subprocess
import threading
import tty
from pathlib import Path

_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
_POLL_S = 0.05


class MicroPythonOnSerial:
    """The unix port at ``path`` (a serial device) with ``workdir`` as its filesystem."""

    def __init__(self, micropython: str, workdir: Path) -> None:
        self._micropython = micropython
        self._workdir = workdir
        self._host_master, self._host_slave = os.openpty()
        tty.setraw(self._host_slave)
        self.path = os.ttyname(self._host_slave)
        self.soft_resets = 0
        self._transcript = bytearray()  # everything the interpreter printed, across soft resets
        self._raw = False
        self._stop = threading.Event()
        self._dev_master, self._proc = self._spawn()
        self._thread = threading.Thread(target=self._bridge, name="micropython-serial", daemon=True)
        self._thread.start()

    @property
    def transcript(self) -> bytes:
        """Everything the device has printed so far."""
        return bytes(self._transcript)

    def close(self) -> None:
        """Stop the bridge and the interpreter."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._proc.kill()
        self._proc.wait(timeout=5)
        for fd in (self._dev_master, self._host_master, self._host_slave):
            os.close(fd)

    def _spawn(self) -> tuple[int, "subprocess.Popen[bytes]"]:
        master, slave = os.openpty()
        tty.setraw(slave)  # a UART translates nothing: no echo, no "\n" -> "\r\n"
        proc = subprocess.Popen([self._micropython], stdin=slave, stdout=slave, stderr=slave,
                                cwd=self._workdir, close_fds=True)
        os.close(slave)
        return master, proc

    def _bridge(self) -> None:
        while not self._stop.is_set():
            readable, _w, _x = select.select([self._host_master, self._dev_master], [], [], _POLL_S)
            if self._host_master in readable:
                data = os.read(self._host_master, 4096)
                self._track_mode(data)
                os.write(self._dev_master, data)
            if self._dev_master in readable:
                try:
                    out = os.read(self._dev_master, 4096)
                    self._transcript += out
                    os.write(self._host_master, out)
                except OSError:  # EIO: the interpreter is gone (Ctrl-D): soft reset
                    self._soft_reset()

    def _track_mode(self, data: bytes) -> None:
        for byte in data:
            if byte == 0x01:
                self._raw = True
            elif byte == 0x02:
                self._raw = False

    def _soft_reset(self) -> None:
        self._proc.wait(timeout=5)
        os.close(self._dev_master)
        self._dev_master, self._proc = self._spawn()
        self.soft_resets += 1
        banner = self._read_until(b">>> ")
        if not self._raw:
            os.write(self._host_master, b"MPY: soft reboot\r\n" + banner)
            return
        os.write(self._dev_master, b"\r\x01")
        self._read_until(_RAW_BANNER)
        os.write(self._host_master, b"MPY: soft reboot\r\n" + _RAW_BANNER)

    def _read_until(self, marker: bytes) -> bytes:
        seen = b""
        while marker not in seen:
            readable, _w, _x = select.select([self._dev_master], [], [], 5.0)
            if not readable:
                raise TimeoutError(f"the unix port never printed {marker!r}; it printed {seen!r}")
            seen += os.read(self._dev_master, 4096)
        return seen
