"""Start an MQTT broker for a one-machine run: Mosquitto when installed, else the embedded amqtt.

Either broker runs as a child process with its own config on a free loopback port, so it never
touches a system broker already bound to 1883 and dies with the run.
"""

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

BrokerKind = Literal["mosquitto", "amqtt"]

_MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerError(RuntimeError):
    """The broker could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now (a busy 8080 should not stop the demo)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary, or None (Debian puts it in /usr/sbin, often not on PATH)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in _MOSQUITTO_PATHS if Path(p).exists()), None)


@dataclass
class RunningBroker:
    """A broker child process and where to reach it."""

    kind: BrokerKind
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Terminate the broker and wait for it."""
        if self._stopped:
            return
        self._stopped = True
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """Kill -9 the broker (failure tests)."""
        self._stopped = True
        self.process.kill()
        self.process.wait(timeout=10)

    def __enter__(self) -> "RunningBroker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _mosquitto_config(workdir: Path, host: str, port: int) -> Path:
    conf = workdir / "mosquitto.conf"
    # max_inflight/queued limits raised: the defaults (20 in flight, 1000 queued) throttle and then
    # silently drop QoS 1 bursts from a gateway draining its outbox.
    conf.write_text(
        f"listener {port} {host}\n"
        "allow_anonymous true\n"
        "persistence false\n"
        "max_inflight_messages 0\n"
        "max_queued_messages 1000000\n"
        "max_queued_bytes 0\n"
        f"log_dest file {workdir / 'mosquitto.log'}\n"
        "log_type error\nlog_type warning\n"
    )
    return conf


def _amqtt_config(workdir: Path, host: str, port: int) -> Path:
    conf = workdir / "amqtt.yaml"
    conf.write_text(
        "listeners:\n"
        "  default:\n"
        "    type: tcp\n"
        f"    bind: {host}:{port}\n"
        "plugins:\n"
        "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
        "    allow_anonymous: true\n"
    )
    return conf


def wait_for_port(host: str, port: int, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerError(f"broker exited with code {process.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BrokerError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s")


def start_broker(
    workdir: Path, prefer: BrokerKind | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningBroker:
    """Start Mosquitto (if installed and not told otherwise) or amqtt on ``host:port`` (0 = free)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    mosquitto = find_mosquitto()
    kind: BrokerKind = "mosquitto" if mosquitto and prefer != "amqtt" else "amqtt"
    if prefer == "mosquitto" and not mosquitto:
        raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
    if kind == "mosquitto" and mosquitto:
        cmd = [mosquitto, "-c", str(_mosquitto_config(workdir, host, port))]
    else:
        cmd = [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(_amqtt_config(workdir, host, port))]
    log_path = workdir / f"{kind}.out"
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # noqa: S603
    try:
        wait_for_port(host, port, timeout_s=20, process=process)
    except BrokerError:
        process.kill()
        raise
    return RunningBroker(kind=kind, host=host, port=port, process=process, log_path=log_path)
