"""The system as it is deployed, one machine: Mosquitto (TLS, passwords, ACL), ``floodmesh central`` and
one ``floodmesh gateway`` per ward, as child processes.

Each gateway reaches the broker through a ``BackhaulLink`` (the province's backhaul, cut on cue) and
hears its ward through a ``SimulatedMeshtasticRadio`` (the real Meshtastic client protocol over TCP),
into which the scenario plays what the mesh model says the gateway's radio decoded. The registry has
real keys (the processes refuse demo ones); each gateway holds only its ward's. Each ward's duty officer
has a handheld with its own PKI keypair, enrolled in central's authorities file.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from central.core.config import DATA_DIR
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from floodmesh.broker import RunningBroker, free_port, start_broker
from protocol.registry import NodeRegistry
from simulations.backhaul import BackhaulLink
from simulations.faults.rig import RigError, read_rows, wait_for
from simulations.hue2023.time_scale import TimerPlan
from simulations.hue2023.timeline import Timeline
from simulations.meshtastic_radio import KnownNode, SimulatedMeshtasticRadio, TransmitHook, default_device_state
from simulations.officer import enrol_officer_radios
from simulations.ward_sites import load_stations

GATEWAY_RADIO_BASE = 0x0F000000
OFFICER_RADIO_BASE = 0x0D000000

# `python -m floodmesh ...` with SIGINT at its default: started from a background shell, the children
# would inherit an ignored SIGINT and a polite stop would look like a hang (as simulations/faults/rig.py).
_FLOODMESH = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
              "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])", "-m", "floodmesh"]


def _flags(values: dict[str, float]) -> list[str]:
    return [arg for name, value in values.items() for arg in (f"--{name.replace('_', '-')}", f"{value:g}")]


@dataclass
class WardRig:
    """One ward's gateway process with its radio, backhaul and the officer's keys."""

    ward: str
    gateway_id: str
    radio: SimulatedMeshtasticRadio
    backhaul: BackhaulLink
    officer_node: int
    officer_key: X25519PrivateKey
    outbox: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def officer_public(self) -> bytes:
        """The officer's PKI public key (as its radio announces it)."""
        return self.officer_key.public_key().public_bytes_raw()

    def outbox_depth(self) -> int:
        """Messages waiting in the gateway's outbox (0 when unreadable now)."""
        rows = read_rows(self.outbox, "SELECT count(*) FROM outbox")
        return int(rows[0][0]) if rows else 0


def build_registry(timeline: Timeline) -> tuple[NodeRegistry, dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    """Real keys for every button and gauge; (ward, button index) and (ward, sensor index) to node ids."""
    cfg = timeline.config
    stations = [s for s in load_stations() if s.ward in cfg.wards]
    sites = [StationSite(s.station_id, s.ward, s.lat, s.lon) for s in stations]
    buttons = [ButtonSite(w) for w in cfg.wards for _ in range(timeline.buttons_per_ward[w])]
    registry = build_fleet(sites, buttons, cfg.sensors_per_station)
    button_ids: dict[tuple[str, int], int] = {}
    sensor_ids: dict[tuple[str, int], int] = {}
    per_ward: dict[str, int] = {}
    for rec in registry:
        index = per_ward.get(rec.ward + rec.kind, 0)
        per_ward[rec.ward + rec.kind] = index + 1
        (button_ids if rec.kind == "sos_button" else sensor_ids)[(rec.ward, index)] = rec.node_id
    return registry, button_ids, sensor_ids


class Processes:
    """Broker, central and the gateways, started and stopped together."""

    def __init__(self, workdir: Path, timeline: Timeline, timers: TimerPlan, deadlines: Path,
                 on_transmit: Callable[[str], TransmitHook]) -> None:
        self.workdir = workdir
        self.timeline = timeline
        self.timers = timers
        workdir.mkdir(parents=True, exist_ok=True)
        self.registry, self.button_ids, self.sensor_ids = build_registry(timeline)
        self.registry_path = workdir / "nodes.json"
        self.registry.save(self.registry_path)
        self.central_db = workdir / "central.db"
        self.api_port = free_port()
        self._log = (workdir / "processes.log").open("ab")
        wards = timeline.config.wards
        self.broker: RunningBroker = start_broker(workdir / "broker", prefer="mosquitto",
                                                  gateways=[(w, f"gw-{w}") for w in wards])
        self.wards: dict[str, WardRig] = {}
        for i, ward in enumerate(wards):
            key = X25519PrivateKey.generate()
            officer = OFFICER_RADIO_BASE + i
            state = default_device_state(GATEWAY_RADIO_BASE + i, nodes=[
                KnownNode(officer, f"duty officer {ward}", f"O{i}", public_key=key.public_key().public_bytes_raw())])
            radio = SimulatedMeshtasticRadio(GATEWAY_RADIO_BASE + i, on_transmit=on_transmit(ward), state=state)
            self.wards[ward] = WardRig(ward, f"gw-{ward}", radio, BackhaulLink(self.broker.host, self.broker.port),
                                       officer, key, workdir / f"outbox-{ward}.db")
        self.authorities = self._authorities()
        self.deadlines = deadlines
        self.central: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        """Central's API base URL."""
        return f"http://127.0.0.1:{self.api_port}"

    def _authorities(self) -> Path:
        """Central's authorities with each ward's duty officer's radio enrolled (node id and PKI key)."""
        radios = {ward: (rig.officer_node, rig.officer_public) for ward, rig in self.wards.items()}
        return enrol_officer_radios(DATA_DIR / "authorities.csv", radios, self.workdir / "authorities.csv")

    def start(self) -> None:
        """Start central, wait until it is subscribed, then every gateway until its radio handshake."""
        for attempt in range(3):
            if self._start_central():
                break
            # The free port we were given was taken before central bound it (another process's race):
            # the log says "Address already in use". A new port, once or twice, settles it.
            self.api_port = free_port()
            if attempt == 2:
                raise RigError(f"central did not come up three times; see {self._log.name}")
        for rig in self.wards.values():
            registry = self.workdir / f"nodes-{rig.ward}.json"
            self.registry.only_ward(rig.ward).save(registry)
            rig.process = self._spawn([
                *_FLOODMESH, "gateway", "--ward", rig.ward, "--gateway", rig.gateway_id,
                *self.broker.cli_args(rig.gateway_id, host="127.0.0.1", port=rig.backhaul.port),
                "--radio", f"tcp:{rig.radio.host}:{rig.radio.port}", "--registry", str(registry),
                "--outbox", str(rig.outbox), *_flags(self.timers.gateway)])
        for rig in self.wards.values():
            if not rig.radio.connected.wait(90):
                raise RigError(f"gateway {rig.gateway_id} never completed the radio handshake; see {self._log.name}")

    def _start_central(self) -> bool:
        """Start central; True once it answers /healthz connected, False if it ended first."""
        import httpx  # only the running system needs it

        cmd = [*_FLOODMESH, "central", *self.broker.cli_args("central"), "--db", str(self.central_db),
               "--registry", str(self.registry_path), "--port", str(self.api_port),
               "--authorities", str(self.authorities), "--deadlines-path", str(self.deadlines),
               *_flags(self.timers.central)]
        central = self.central = self._spawn(cmd)

        def up_or_ended() -> bool:
            if central.poll() is not None:
                return True
            try:
                return bool(httpx.get(f"{self.api}/healthz", timeout=2).json().get("mqtt_connected"))
            except (httpx.HTTPError, ValueError):
                return False

        wait_for(up_or_ended, 90, f"central to answer /healthz connected (log: {self._log.name})")
        if central.poll() is None:
            return True
        self.central = None
        return False

    def _spawn(self, cmd: list[str]) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
        return subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,  # noqa: S603
                                env=env)

    def dead(self) -> list[str]:
        """Processes that ended on their own (a crash is a finding: its log says why)."""
        out = [f"central (exit {self.central.returncode})"] if self.central and self.central.poll() is not None else []
        return out + [f"{r.gateway_id} (exit {r.process.returncode})" for r in self.wards.values()
                      if r.process is not None and r.process.poll() is not None]

    def stop(self) -> None:
        """Stop the gateways, central and the broker (politely, then firmly), and close radios and links."""
        procs = [r.process for r in self.wards.values() if r.process is not None]
        procs += [self.central] if self.central is not None else []
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)
        for rig in self.wards.values():
            rig.radio.close()
            rig.backhaul.close()
        self.broker.stop()
        self._log.close()
