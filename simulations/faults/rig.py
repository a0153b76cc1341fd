"""The system under fault, as real processes: Mosquitto, ``floodmesh central``, ``floodmesh gateway``.

The gateway reaches the broker through a ``BackhaulLink`` proxy (cut, blackholed) and hears its
nodes through a ``SimulatedMeshtasticRadio`` (the real Meshtastic client protocol over TCP). Each
process can be killed, stopped and restarted on the same files and ports. What central holds is read
from its SQLite file (so it can be read while central is down); what the gateway committed, from
its outbox file.
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx

from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from floodmesh.broker import RunningBroker, free_port, start_broker
from protocol import frames
from simulations.backhaul import BackhaulLink
from simulations.faults.ledger import EventId, Holdings
from simulations.faults.power_loss_fs import PowerLossDisk
from simulations.meshtastic_radio import SimulatedMeshtasticRadio, TransmitHook

WARD, GATEWAY = "19813", "gw-19813"
RADIO_NODE_NUM = 0x0F000001


# `python -m floodmesh ...` with SIGINT back to its default first: a test run or campaign started in
# the background by a shell ignores SIGINT, its children would inherit that, and a polite stop of
# central or the gateway would look like a hang. SIG_DFL (unlike a handler) survives exec.
_FLOODMESH = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
              "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])", "-m", "floodmesh"]


# The gateway's own report of a lost backhaul, with the moment it noticed (gateway/service.py).
_LINK_LOST = re.compile(r"gateway \S+: lost the broker \S+ at (\S+);")


class RigError(RuntimeError):
    """A process of the rig did not come up or go down as asked."""


@dataclass(frozen=True)
class RigTimings:
    """How quickly the processes notice faults: short, so that a round takes seconds, not minutes."""

    keepalive_s: int = 2  # the gateway's MQTT keepalive: a half-open backhaul is noticed within 1.5x this
    retry_s: float = 3.0  # the gateway resends what central has not app-acked after this long
    autonomy_after_s: float = 30.0
    # When set, the gateway runs in a mount namespace of its own (`unshare -m`, root only) with its
    # outbox on a tmpfs of this many bytes, so that its disk can be filled (outbox_disk_full). The
    # tmpfs dies with the gateway: a rig with it runs no fault that restarts the gateway.
    outbox_disk_bytes: int | None = None
    # What Mosquitto keeps for an offline central: low, so that a central away for seconds overflows it
    # and the gateway's outbox must backfill what the broker dropped (central_away_broker_overflows).
    broker_max_queued: int = 300
    # How often Mosquitto saves its persistence file: a broker killed -9 comes back with the sessions and
    # queued QoS 1 messages of its last save (broker_kill9_after_autosave replays them into central).
    broker_autosave_s: int = 1
    # When set, the gateway's outbox directory is a FUSE filesystem that loses every write not yet
    # fsynced when its power is cut (gateway_power_cut); its disk survives restarts.
    outbox_power_loss: bool = False


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.05) -> None:
    """Poll ``predicate`` until true; RigError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RigError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)


def read_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` from the SQLite file ``db`` opened read-only ([] if absent or unreadable now)."""
    try:
        if not db.exists():
            return []
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return [tuple(r) for r in conn.execute(sql)]
        finally:
            conn.close()
    except (sqlite3.Error, OSError):  # OSError: a power-loss mount between its cut and its remount
        return []


class Rig:
    """Broker, central and one gateway as child processes, with the radio and backhaul in this one."""

    def __init__(self, workdir: Path, on_transmit: TransmitHook, timings: RigTimings = RigTimings()) -> None:
        self.workdir = workdir
        self.timings = timings
        workdir.mkdir(parents=True, exist_ok=True)
        # Real keys: `floodmesh gateway` and `central` refuse demo registries.
        self.registry = build_fleet([StationSite("kim_long", WARD, 16.41667, 107.5667)], [ButtonSite(WARD)] * 6,
                                    sensors_per_station=12)
        self.registry_path = workdir / "nodes.json"
        self.registry.save(self.registry_path)
        self.central_db = workdir / "central.db"
        self.outbox_dir = workdir / "outbox-disk" if timings.outbox_disk_bytes else workdir
        self.power_disk: PowerLossDisk | None = None
        if timings.outbox_power_loss:
            self.outbox_dir = workdir / "outbox-power"
            self.power_disk = PowerLossDisk(workdir / "outbox-power-disk", self.outbox_dir)
        self.outbox_dir.mkdir(exist_ok=True)
        self.api_port = free_port()
        self.gateway_clock_file = workdir / "gateway-clock-offset-s"  # seconds the gateway's clock is off
        self.gateway_clock_file.write_text("0")
        self.broker = self._start_broker(port=0)
        self.broker.add_gateway(WARD, GATEWAY)
        self.backhaul = BackhaulLink(self.broker.host, self.broker.port)
        self.radio = SimulatedMeshtasticRadio(RADIO_NODE_NUM, on_transmit=on_transmit)
        self._log = (workdir / "processes.log").open("ab")
        if self.power_disk is not None:
            self.power_disk.log = self._log
        self.central: subprocess.Popen[bytes] | None = None
        self.gateway: subprocess.Popen[bytes] | None = None
        self.stop_timeout_s = 20.0
        self.hung: list[str] = []  # processes that ignored a polite stop (see _wait_or_abort)

    @property
    def api(self) -> str:
        """Central's API base URL."""
        return f"http://127.0.0.1:{self.api_port}"

    # --- broker ----------------------------------------------------------------------------------

    def _start_broker(self, port: int) -> RunningBroker:
        return start_broker(self.workdir / "broker", prefer="mosquitto", port=port, persistence=True,
                            max_queued_messages=self.timings.broker_max_queued,
                            autosave_interval_s=self.timings.broker_autosave_s)

    def kill_broker(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """End the broker with ``sig`` (SIGKILL: no persistence save; SIGTERM: a clean restart)."""
        self.broker.process.send_signal(sig)
        self.broker.process.wait(timeout=30)

    def restart_broker(self) -> None:
        """Start the broker again on the same port and state directory."""
        self.broker = self._start_broker(port=self.broker.port)

    # --- central ---------------------------------------------------------------------------------

    def central_cmd(self) -> list[str]:
        """``floodmesh central`` on this rig's files and ports."""
        return [*_FLOODMESH, "central", *self.broker.cli_args("central"),
                "--db", str(self.central_db), "--registry", str(self.registry_path), "--port", str(self.api_port)]

    def start_central(self, env: dict[str, str] | None = None, wait: bool = True) -> None:
        """Start central (``env`` adds FLOODMESH_* settings) and, with ``wait``, until it is subscribed."""
        self.central = self._spawn(self.central_cmd(), env)
        if wait:
            wait_for(self.central_healthy, 60, "central to answer /healthz connected")

    def central_healthy(self) -> bool:
        """Whether central answers /healthz with its MQTT ingest connected."""
        try:
            return bool(httpx.get(f"{self.api}/healthz", timeout=2).json().get("mqtt_connected"))
        except (httpx.HTTPError, ValueError):
            return False

    def central_stats(self) -> dict[str, Any]:
        """Central's /api/stats."""
        stats: dict[str, Any] = httpx.get(f"{self.api}/api/stats", timeout=10).json()
        return stats

    def central_process(self) -> subprocess.Popen[bytes]:
        """Central's process (RigError when it is not running)."""
        if self.central is None:
            raise RigError("central is not running")
        return self.central

    def signal_central(self, sig: signal.Signals) -> None:
        """Send ``sig`` to central; for SIGKILL/SIGINT/SIGTERM also wait for it to end."""
        process = self.central_process()
        process.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGINT, signal.SIGTERM):
            self.central = None
            self._wait_or_abort(process, "central", sig)

    def _wait_or_abort(self, process: subprocess.Popen[bytes], name: str, sig: signal.Signals) -> None:
        # A process that does not end on a polite signal is itself a finding: its threads' stacks go to
        # the log (SIGABRT with PYTHONFAULTHANDLER), it is killed, and the caller is told.
        try:
            process.wait(timeout=self.stop_timeout_s)
            return
        except subprocess.TimeoutExpired:
            pass
        process.send_signal(signal.SIGABRT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        self.hung.append(f"{name} did not end within {self.stop_timeout_s:.0f} s of {sig.name}; stacks in "
                         f"{self._log.name}")

    # --- gateway ---------------------------------------------------------------------------------

    @property
    def outbox(self) -> Path:
        """The gateway's outbox file as this process can reach it (through /proc for a tmpfs outbox)."""
        if self.timings.outbox_disk_bytes is None:
            return self.outbox_dir / "outbox.db"
        return self.outbox_disk() / "outbox.db"

    def outbox_disk(self) -> Path:
        """The gateway's outbox directory as seen from here (its tmpfs, through /proc, when it has one)."""
        if self.timings.outbox_disk_bytes is None:
            return self.outbox_dir
        if self.gateway is None:
            raise RigError("the gateway's tmpfs exists only while it runs")
        return Path(f"/proc/{self.gateway.pid}/root{self.outbox_dir}")

    def gateway_cmd(self) -> list[str]:
        """``floodmesh gateway`` on this rig's radio, outbox and backhaul (in a mount namespace with
        a tmpfs outbox when ``outbox_disk_bytes`` is set)."""
        t = self.timings
        namespace: list[str] = []
        if t.outbox_disk_bytes is not None:
            mount = 'mount -t tmpfs -o size="$1" floodmesh-outbox "$2" && shift 2 && exec "$@"'
            namespace = ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount, "sh",
                         str(t.outbox_disk_bytes), str(self.outbox_dir)]
        # Through clock_skew: its wall clock jumps when gateway_clock_file says so (gateway_clock_jump).
        skewed = [sys.executable, "-m", "simulations.faults.clock_skew", str(self.gateway_clock_file)]
        return [*namespace, *skewed, "gateway", "--ward", WARD, "--gateway", GATEWAY,
                *self.broker.cli_args(GATEWAY, host="127.0.0.1", port=self.backhaul.port),
                "--radio", f"tcp:{self.radio.host}:{self.radio.port}", "--registry", str(self.registry_path),
                "--outbox", str(self.outbox_dir / "outbox.db"), "--keepalive-s", str(t.keepalive_s),
                "--retry-s", str(t.retry_s),
                "--autonomy-after-s", str(t.autonomy_after_s)]

    def start_gateway(self) -> None:
        """Start the gateway and wait for its radio handshake (its power-loss disk mounted first)."""
        if self.power_disk is not None:
            self.power_disk.mount()
        self.gateway = self._spawn(self.gateway_cmd(), None)
        if not self.radio.connected.wait(60):
            raise RigError(f"gateway never completed the radio handshake; see {self._log.name}")

    def signal_gateway(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the gateway and wait for it to end and let go of the radio."""
        if self.gateway is None:
            raise RigError("the gateway is not running")
        process, self.gateway = self.gateway, None
        process.send_signal(sig)
        self._wait_or_abort(process, "gateway", sig)
        wait_for(lambda: not self.radio.connected.is_set(), 30, "the radio to lose its client")

    def power_cut(self) -> None:
        """The gateway's power goes: its disk keeps only what was fsynced, and the gateway dies."""
        if self.power_disk is None:
            raise RigError("a power cut needs a rig with RigTimings(outbox_power_loss=True)")
        self.power_disk.cut()  # first the disk: nothing the gateway does afterwards reaches it
        self.signal_gateway(signal.SIGKILL)

    def ensure_running(self) -> None:
        """After a fault that went wrong: whatever is down (broker, central, gateway) is started again."""
        if self.broker.process.poll() is not None:
            self.restart_broker()
        if self.central is not None and self.central.poll() is not None:
            self.central = None
        if self.central is None:
            self.start_central()
        if self.gateway is not None and self.gateway.poll() is not None:
            self.gateway = None
        if self.gateway is None:
            self.start_gateway()

    def gateway_link_losses(self) -> list[float]:
        """When the gateway said it lost the broker (its own log lines, as Unix times), oldest first."""
        return [datetime.fromisoformat(m).timestamp() for m in _LINK_LOST.findall(self.log_text())]

    # --- what the stores hold --------------------------------------------------------------------

    def holdings(self) -> Holdings:
        """Every reading, SOS event and case central's database holds, repeats kept."""
        def ids(sql: str) -> list[EventId]:
            return [(int(n), int(b), int(q)) for n, b, q in read_rows(self.central_db, sql)]
        return Holdings(readings=ids("SELECT node_id, boot_epoch, seq FROM readings"),
                        sos_events=ids("SELECT node_id, boot_epoch, seq FROM events WHERE kind = 'sos'"),
                        sos_cases=ids("SELECT node_id, boot_epoch, seq FROM cases"))

    def outbox_frames(self) -> list[tuple[str, EventId]]:
        """(kind, event) of every radio frame in the gateway's outbox right now."""
        out: list[tuple[str, EventId]] = []
        if self.timings.outbox_disk_bytes is not None and self.gateway is None:
            return out  # a tmpfs outbox is gone with its gateway
        for node_id, kind, data in read_rows(self.outbox, "SELECT node_id, kind, frame FROM outbox "
                                                          "WHERE kind != 'case_events'"):
            rec = self.registry.get(int(node_id))
            if rec is not None:
                out.append((str(kind), frames.decode(bytes(data), rec.key).event_id))
        return out

    def outbox_count(self) -> int:
        """Messages in the gateway's outbox (0 when absent)."""
        if self.timings.outbox_disk_bytes is not None and self.gateway is None:
            return 0
        rows = read_rows(self.outbox, "SELECT count(*) FROM outbox")
        return int(rows[0][0]) if rows else 0

    # --- lifecycle -------------------------------------------------------------------------------

    def _spawn(self, cmd: list[str], env: dict[str, str] | None) -> subprocess.Popen[bytes]:
        full_env = {**os.environ, "PYTHONFAULTHANDLER": "1", **(env or {})}
        return subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,  # noqa: S603
                                env=full_env)

    def log_text(self) -> str:
        """What the processes have logged so far."""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    @property
    def log_file(self) -> IO[bytes]:
        """The processes' shared log."""
        return self._log

    def close(self) -> None:
        """Stop every process and close the radio and backhaul."""
        for proc in (self.gateway, self.central):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait(timeout=30)
        self.gateway = self.central = None
        if self.power_disk is not None:
            self.power_disk.close()
        self.radio.close()
        self.backhaul.close()
        self.broker.stop()
        self._log.close()
