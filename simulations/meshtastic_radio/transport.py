"""How a client reaches the simulated radio: TCP (a networked node, port 4403) or a serial port (a pty).

Both carry the same stream framing; a transport only moves bytes. It calls ``on_payload`` with each
complete protobuf from the client and ``on_session_end`` when the client is gone, from its own thread.
"""

import logging
import os
import select
import socket
import threading
import tty
from collections.abc import Callable
from typing import Protocol

from simulations.meshtastic_radio.stream import StreamParser

log = logging.getLogger(__name__)

PayloadHandler = Callable[[bytes], None]
SessionEndHandler = Callable[[], None]
_POLL_S = 0.2
_WRITE_TIMEOUT_S = 5.0


class ClientTransport(Protocol):
    """One client connection at a time, to a radio."""

    address: str

    def start(self, on_payload: PayloadHandler, on_session_end: SessionEndHandler) -> None:
        """Serve in a background thread."""

    def send(self, data: bytes) -> None:
        """Write framed bytes to the client; ConnectionError if there is none."""

    def end_session(self) -> None:
        """The client said goodbye (``ToRadio.disconnect``): forget it."""

    def drop_client(self) -> None:
        """Cut the client off, as a pulled cable would."""

    def close(self) -> None:
        """Stop serving and release the port."""


class TcpTransport:
    """The client API on a TCP port, as a WiFi/Ethernet node serves it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = socket.create_server((host, port))
        self.host, self.port = self._server.getsockname()[:2]
        self.address = f"tcp:{self.host}:{self.port}"
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_payload: PayloadHandler, on_session_end: SessionEndHandler) -> None:
        """Accept one client after another in a background thread."""
        self._thread = threading.Thread(target=self._serve, args=(on_payload, on_session_end),
                                        name="sim-meshtastic-tcp", daemon=True)
        self._thread.start()

    def send(self, data: bytes) -> None:
        """Write to the connected client."""
        with self._lock:
            if self._client is None:
                raise ConnectionError("no client connected to the radio: connect one (TCPInterface) first")
            self._client.sendall(data)

    def end_session(self) -> None:
        """A TCP client that says goodbye also closes its socket; the serve loop sees that."""

    def drop_client(self) -> None:
        """Shut the client's socket down."""
        with self._lock:
            if self._client is not None:
                self._client.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop accepting, drop the client, join the thread."""
        self._stop.set()
        self.drop_client()
        self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _serve(self, on_payload: PayloadHandler, on_session_end: SessionEndHandler) -> None:
        self._server.settimeout(_POLL_S)
        while not self._stop.is_set():
            try:
                conn, _addr = self._server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._client = conn
            try:
                self._session(conn, on_payload)
            finally:
                with self._lock:
                    self._client = None
                on_session_end()
                conn.close()

    def _session(self, conn: socket.socket, on_payload: PayloadHandler) -> None:
        parser = StreamParser()
        while not self._stop.is_set():
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            try:
                for payload in parser.feed(data):
                    on_payload(payload)
            except ConnectionError as exc:  # the client left while we answered (a reboot, a closed link)
                log.info("simulated radio: client gone mid-answer (%s); session ended", exc)
                return


class PtyTransport:
    """The client API on a serial port: a pseudo-terminal whose slave path a client opens as a tty.

    We keep a handle on the slave ourselves, so that a client closing the port does not hang up the
    master (reads would fail with EIO); a client is present from its first bytes until it says goodbye.
    The slave is put in raw mode, as pyserial would, so no byte is echoed or translated.
    """

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self.address = f"serial:{self.path}"
        self._present = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_payload: PayloadHandler, on_session_end: SessionEndHandler) -> None:
        """Read the master side in a background thread."""
        self._thread = threading.Thread(target=self._serve, args=(on_payload,), name="sim-meshtastic-pty", daemon=True)
        self._on_session_end = on_session_end
        self._thread.start()

    def send(self, data: bytes) -> None:
        """Write to the client, waiting (bounded) while the pty's buffer is full."""
        with self._lock:
            if not self._present:
                raise ConnectionError(f"no client on the serial port {self.path}: open it (SerialInterface) first")
            view = memoryview(data)
            while view:
                _r, writable, _x = select.select([], [self._master], [], _WRITE_TIMEOUT_S)
                if not writable:
                    raise ConnectionError(f"the client on {self.path} stopped reading: the serial buffer is full")
                view = view[os.write(self._master, view):]

    def end_session(self) -> None:
        """Forget the client until it writes again."""
        with self._lock:
            self._present = False
        self._on_session_end()

    def drop_client(self) -> None:
        """A pty cannot be unplugged: use ``SimulatedMeshtasticRadio.reboot`` to make the client reconnect."""
        raise RuntimeError("a pty cannot be unplugged: reboot the radio instead (radio.reboot())")

    def close(self) -> None:
        """Stop reading and close both ends of the pty."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._present = False
        os.close(self._master)
        os.close(self._slave)

    def _serve(self, on_payload: PayloadHandler) -> None:
        parser = StreamParser()
        while not self._stop.is_set():
            readable, _w, _x = select.select([self._master], [], [], _POLL_S)
            if not readable:
                continue
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                continue
            except OSError as exc:  # EIO: nobody holds the slave any more
                log.warning("simulated radio: serial port %s closed: %s", self.path, exc)
                return
            with self._lock:
                self._present = True
            for payload in parser.feed(data):
                on_payload(payload)
