"""``floodmesh central`` and ``floodmesh gateway`` as child processes, as they are deployed."""

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx

from floodmesh.broker import RunningBroker, free_port


class ChildProcess:
    """A floodmesh command running as a child; ``api`` is central's base URL (empty for a gateway)."""

    def __init__(self, process: subprocess.Popen[bytes], api: str = "") -> None:
        self.process = process
        self.api = api

    def stop(self) -> None:
        """Terminate and reap it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_central(broker: RunningBroker, workdir: Path, registry: Path, log: IO[bytes] | None = None) -> ChildProcess:
    """``floodmesh central`` on ``broker`` as central's identity; returns once it serves and has MQTT."""
    port = free_port()
    cmd = [sys.executable, "-m", "floodmesh", "central", *broker.cli_args("central"),
           "--db", str(workdir / "central.db"), "--registry", str(registry), "--port", str(port)]
    central = ChildProcess(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log),
                           f"http://127.0.0.1:{port}")
    try:
        wait_for(lambda: _healthy(central.api), 60, "central to serve and connect to the broker")
    except TimeoutError:
        central.stop()
        raise
    return central


def start_gateway(
    broker: RunningBroker, ward: str, gateway: str, radio: str, registry: Path, outbox: Path,
    log: IO[bytes] | None = None,
) -> ChildProcess:
    """``floodmesh gateway`` for ``ward`` on ``radio`` (``tcp:HOST:PORT``), with its own broker identity."""
    broker.add_gateway(ward, gateway)
    cmd = [sys.executable, "-m", "floodmesh", "gateway", "--ward", ward, "--gateway", gateway,
           *broker.cli_args(gateway), "--radio", radio, "--registry", str(registry), "--outbox", str(outbox)]
    return ChildProcess(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log))


def central_stats(api: str) -> dict[str, object]:
    """Central's /api/stats."""
    stats: dict[str, object] = httpx.get(f"{api}/api/stats", timeout=10).json()
    return stats


def _healthy(api: str) -> bool:
    try:
        return bool(httpx.get(f"{api}/healthz", timeout=2).json().get("mqtt_connected"))
    except httpx.HTTPError:
        return False


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.05) -> None:
    """Poll ``predicate`` until true; raise TimeoutError naming ``what`` if it never is."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll_s)
    raise TimeoutError(f"benchmark: timed out after {timeout_s:.0f} s waiting for {what}")
