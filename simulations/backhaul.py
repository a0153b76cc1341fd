"""The backhaul between a ward gateway and the IOC's broker, as a TCP proxy that can fail on cue.

Province isolation in simulations and failure tests: the link forwards bytes untouched, or is cut
(connections dropped and refused, as when the fibre or the power goes), or blackholes (every byte
vanishes while connections stay open, as on a congested or half-dead cellular link).
"""

import socket
import threading
import time


class BackhaulLink:
    """Listens on a free loopback port and forwards to ``upstream``; ``blackhole = True`` makes every
    byte vanish in both directions without closing anything (a dead link that looks alive)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self.blackhole = False
        self.refuse = False  # close new connections at once (nothing listening, as far as clients see)
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        # Connections the client side ended itself (e.g. a gateway that noticed a dead link), with when.
        self.client_hangups: list[float] = []
        self.hangup = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                if from_client and not self.refuse:
                    with self.hangup:
                        self.client_hangups.append(time.monotonic())
                        self.hangup.notify_all()
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()
                return
            if self.blackhole:
                continue
            try:
                dst.sendall(data)
            except OSError:
                src.close()
                dst.close()
                return

    def wait_client_hangup(self, after: float, timeout_s: float) -> float | None:
        """Seconds from ``after`` (a ``time.monotonic()``) until a client ended a connection, or None."""
        with self.hangup:
            self.hangup.wait_for(lambda: any(t >= after for t in self.client_hangups), timeout_s)
            later = [t for t in self.client_hangups if t >= after]
        return min(later) - after if later else None

    def cut(self) -> None:
        """The backhaul is gone: refuse new connections and drop the open ones."""
        self.refuse = True
        self._drop_all()

    def restore(self) -> None:
        """The backhaul is back."""
        self.refuse = False

    def _drop_all(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._closed = True
        self._server.close()
        with self._lock:
            for conn in self._conns:
                try:
                    conn.close()
                except OSError:
                    pass
