"""The one-machine demo: broker, central, a gateway per ward, virtual sensors and SOS buttons.

Everything runs for real (an MQTT broker process, paho clients, SQLite, the HTTP API); only the LoRa
air between nodes and gateways is simulated, carrying the exact bytes real radios would.
"""

import random
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from central.core.config import DATA_DIR, CentralSettings
from central.service import CentralService
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from edge_nodes.virtual import VirtualSosButton, VirtualWaterLevelSensor
from floodmesh.broker import BrokerKind, RunningBroker, port_is_free, settings_fields, start_broker
from gateway.node_keys import load_ward_registry
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from protocol.registry import NodeRegistry
from simulations.backhaul import BackhaulLink
from simulations.demo_operator import DemoOperator, create_demo_operator
from simulations.flood_replay import READING_EVERY_S, REPLAY_S, ReplayClock, StationReplay
from simulations.officer import VirtualOfficer, enrol_officer_radios
from simulations.rogue import RogueTransmitter
from simulations.ward_sites import Station, WardShapes, load_stations

# Thủy Xuân and Hương Trà hold the Kim Long and Phú Ốc gauges; Kim Long and Phú Xuân are riverside.
DEFAULT_WARDS = ("19813", "19996", "19774", "19753")
GATEWAY_RADIO_ID = 0x0F000000
OFFICER_RADIO_ID = 0x0D000000
ANSWERED = ("registered", "acknowledged", "dispatched", "resolved")


@dataclass
class DemoConfig:
    """What the demo runs."""

    wards: tuple[str, ...] = DEFAULT_WARDS
    buttons_per_ward: int = 6
    sensors_per_station: int = 3
    # The 2023 flood's five days replayed in this many seconds (the gauges then run in real time).
    replay_s: float = 120.0
    press_every_s: float = 8.0
    rogue_every_s: float = 5.0
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    broker: BrokerKind | None = None
    seed: int = 7
    workdir: Path | None = None
    # Province isolation: this ward's backhaul is cut from ``isolate_at_s`` for ``isolate_for_s``.
    isolate_ward: str | None = "19774"
    isolate_at_s: float = 20.0
    isolate_for_s: float = 30.0


@dataclass
class _Ward:
    code: str
    air: Air
    gateway: GatewayService
    backhaul: BackhaulLink
    officer: VirtualOfficer
    buttons: list[VirtualSosButton] = field(default_factory=list)
    sensors: list[VirtualWaterLevelSensor] = field(default_factory=list)


class Demo:
    """A running demo system; ``step`` advances the virtual world by one tick."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)  # simulation, not security
        self._own_workdir = config.workdir is None
        self.workdir = config.workdir or Path(tempfile.mkdtemp(prefix="floodmesh-demo-"))
        self.broker: RunningBroker | None = None
        self.central: CentralService | None = None
        self.operator: DemoOperator | None = None  # the dashboard login; never part of summary()
        self.wards: list[_Ward] = []
        self.rogue: RogueTransmitter | None = None
        self.presses = 0
        self.isolation: str = "none"
        self._forced_ward: str | None = None
        self.flood_clock = ReplayClock(time.time(), REPLAY_S / config.replay_s)
        self._started_at = 0.0
        self._next_press = 0.0
        self._next_rogue = 0.0
        self._officer_keys: list[X25519PrivateKey] = []

    # --- building the world ----------------------------------------------------------------------

    def start(self) -> None:
        """Start broker, central, gateways and nodes."""
        cfg = self.config
        self.workdir.mkdir(parents=True, exist_ok=True)
        stations = [s for s in load_stations() if s.ward in cfg.wards]
        shapes = WardShapes()
        registry = self._provision(stations, shapes)
        registry_path = self.workdir / "nodes.json"
        registry.save(registry_path)
        # Each officer's handheld has its own PKI keypair; the IOC enrols (pins) it before the floods.
        self._officer_keys = [X25519PrivateKey.generate() for _ in cfg.wards]
        authorities = self._authorities_with_officers()
        # The broker is secured as in production: each gateway and central get their own identity.
        self.broker = start_broker(self.workdir / "broker", prefer=cfg.broker,
                                   gateways=[(code, f"gw-{code}") for code in cfg.wards])
        api_port = cfg.api_port if cfg.api_port and port_is_free(cfg.api_host, cfg.api_port) else 0
        self.central = CentralService(
            CentralSettings(
                db_path=self.workdir / "central.db",
                **settings_fields(self.broker.endpoint_for_central()),
                api_host=cfg.api_host,
                api_port=api_port,
                registry_path=registry_path,
                authorities_path=authorities,
                allow_demo_registry=True,  # the demo's own throwaway keys
            )
        )
        self.central.start()
        if self.central.store is None:
            raise RuntimeError("central started without a store")
        self.operator = create_demo_operator(self.central.store, self.workdir, datetime.now(UTC))
        now = self._started_at = time.time()
        self.flood_clock = ReplayClock(now, REPLAY_S / cfg.replay_s)
        for i, code in enumerate(cfg.wards):
            self.wards.append(self._start_ward(code, i, registry, stations, now))
        self.rogue = RogueTransmitter(self.wards[0].air, registry, self._rng)
        self._next_press = now + 2.0
        self._next_rogue = now + 1.0

    def _provision(self, stations: list[Station], shapes: WardShapes) -> NodeRegistry:
        """Sensors at the stations; buttons in each ward: a third with a registered address, the
        rest known only by ward (half of those will send GPS with their SOS)."""
        buttons: list[ButtonSite] = []
        for code in self.config.wards:
            for j in range(self.config.buttons_per_ward):
                if j % 3 == 0:
                    lat, lon = shapes.random_point(code, self._rng)
                    buttons.append(ButtonSite(code, lat, lon))
                else:
                    buttons.append(ButtonSite(code))
        sites = [StationSite(s.station_id, s.ward, s.lat, s.lon) for s in stations]
        self._shapes = shapes
        # A fresh secret each run: the keys are throwaway, and the registry is marked demo.
        return build_fleet(sites, buttons, self.config.sensors_per_station, demo_secret=secrets.token_bytes(16))

    def _authorities_with_officers(self) -> Path:
        """Central's authorities, each demo ward's duty officer given a handheld radio, enrolled: its
        node id and PKI public key pinned (the ward gateways refuse commands from any other key)."""
        radios = {ward: (OFFICER_RADIO_ID + i, self._officer_keys[i].public_key().public_bytes_raw())
                  for i, ward in enumerate(self.config.wards)}
        return enrol_officer_radios(DATA_DIR / "authorities.csv", radios, self.workdir / "authorities.csv")

    def _start_ward(
        self, code: str, index: int, registry: NodeRegistry, stations: list[Station], now: float
    ) -> _Ward:
        air = Air(seed=self.config.seed + index)
        if self.broker is None:
            raise RuntimeError("broker not started")
        backhaul = BackhaulLink(self.broker.host, self.broker.port)
        # TLS passes through the backhaul proxy untouched; the broker's certificate names 127.0.0.1.
        identity = self.broker.add_gateway(code, f"gw-{code}")
        settings = GatewaySettings(
            ward=code,
            gateway_id=f"gw-{code}",
            outbox_path=self.workdir / f"outbox-{code}.db",
            **(settings_fields(identity) | {"broker_host": "127.0.0.1", "broker_port": backhaul.port}),
            autonomy_after_s=10.0,
            allow_demo_registry=True,  # the demo's own throwaway keys
        )
        # Each gateway holds only its ward's keys, as `floodmesh nodes export --ward` gives a real one.
        ward_path = self.workdir / f"nodes-{code}.json"
        registry.only_ward(code).save(ward_path)
        ward_registry = load_ward_registry(ward_path, code, settings.allow_demo_registry)
        gateway = GatewayService(settings, SimRadioLink(air, GATEWAY_RADIO_ID + index), ward_registry)
        gateway.start()
        officer = VirtualOfficer(air, OFFICER_RADIO_ID + index, GATEWAY_RADIO_ID + index, self._rng,
                                 private_key=self._officer_keys[index])
        ward = _Ward(code, air, gateway, backhaul, officer)
        by_station = {s.station_id: s for s in stations}
        for rec in registry.in_ward(code):
            if rec.kind == "sos_button":
                ward.buttons.append(VirtualSosButton(rec, air))
            elif rec.kind == "water_level" and rec.station_id in by_station:
                st = by_station[rec.station_id]
                # Kim Long replays its own 2023 curve; other stations the same flood scaled to their
                # alert levels, three hours later downstream of the rain.
                kim_long_bd3 = 3.5
                replay = StationReplay(self.flood_clock, scale=st.alert_levels_m["BD3"] / kim_long_bd3,
                                       lag_s=0.0 if st.station_id == "kim_long" else 3 * 3600.0)
                iv = READING_EVERY_S
                ward.sensors.append(VirtualWaterLevelSensor(rec, air, st.datum_m, replay.level_at, iv, iv))
        return ward

    # --- running ---------------------------------------------------------------------------------

    def step(self, now: float, pressing: bool = True) -> None:
        """One tick: sensors sample, buttons retry, residents press and a rogue transmits (unless winding down)."""
        self._isolate(now)
        for ward in self.wards:
            for sensor in ward.sensors:
                sensor.tick(self.flood_clock(now))
            for button in ward.buttons:
                button.tick(now)
            ward.officer.tick(now)
        if pressing and now >= self._next_press:
            self._press_somewhere(now)
            self._next_press = now + self._rng.expovariate(1.0 / self.config.press_every_s)
        if pressing and self.rogue is not None and now >= self._next_rogue:
            self.rogue.transmit(int(now))
            self._next_rogue = now + self.config.rogue_every_s

    def _isolate(self, now: float) -> None:
        """Cut the isolated ward's backhaul on schedule, and restore it."""
        cfg = self.config
        ward = next((w for w in self.wards if w.code == cfg.isolate_ward), None)
        if ward is None:
            return
        elapsed = now - self._started_at
        if self.isolation == "none" and elapsed >= cfg.isolate_at_s:
            ward.backhaul.cut()
            self.isolation = "cut"
            # Someone in the cut-off ward will need help: that is what the ward must handle alone.
            self._forced_ward = ward.code
            self._next_press = min(self._next_press, now + 2.0)
        elif self.isolation == "cut" and elapsed >= cfg.isolate_at_s + cfg.isolate_for_s:
            ward.backhaul.restore()
            self.isolation = "restored"

    def _press_somewhere(self, now: float) -> None:
        forced = next((w for w in self.wards if w.code == self._forced_ward), None)
        self._forced_ward = None
        ward = forced or self._rng.choice(self.wards)
        idle = [b for b in ward.buttons if b.led == "off"] or ward.buttons
        button = self._rng.choice(idle)
        gps = None
        if button.record.lat is None and self._rng.random() < 0.5:
            gps = self._shapes.random_point(ward.code, self._rng)
        button.press(now, kind=self._rng.randrange(5), people=self._rng.randint(1, 8),
                     vulnerable=self._rng.choice((0, 0, 1, 2, 4, 8, 6)), gps=gps)
        self.presses += 1

    def summary(self) -> dict[str, object]:
        """The numbers a person checks after a run."""
        if self.central is None or self.broker is None:
            raise RuntimeError("demo not started")
        central = self.central.stats()
        gateway_rejected = sum(int(str(w.gateway.stats()["rejected"])) for w in self.wards)
        buttons = [b for w in self.wards for b in w.buttons]
        return {
            "broker": self.broker.kind,
            "api": self.central.api_url,
            "wards": len(self.wards),
            "readings_sent": sum(s.transmissions for w in self.wards for s in w.sensors),
            "readings_stored": central["readings_stored"],
            "sos_presses": self.presses,
            "sos_cases": central["sos_cases"],
            "open_cases": central["open_cases"],
            "acks_delivered": sum(b.acks_received for b in buttons),
            "buttons_answered": sum(1 for b in buttons if b.led in ANSWERED),
            "rejected": int(str(central["rejected"])) + gateway_rejected,
            "rejected_at_gateways": gateway_rejected,
            "rejected_at_central": central["rejected"],
            "rogue_transmissions": self.rogue.sent if self.rogue else 0,
            "isolated_ward": self.config.isolate_ward,
            "isolation": self.isolation,
            "ward_local_cases": sum(int(str(w.gateway.stats().get("local_cases", 0))) for w in self.wards),
            "officer_replies": sum(w.officer.replies for w in self.wards),
            # Replies the gateways took as authenticated commands (PKI direct messages from enrolled radios).
            "officer_commands": sum(int(str(w.gateway.stats().get("commands", 0))) for w in self.wards),
            "outbox_pending": sum(int(str(w.gateway.stats()["outbox_pending"])) for w in self.wards),
        }

    def stop(self) -> None:
        """Stop everything started, in reverse order."""
        for ward in self.wards:
            ward.gateway.stop()
            ward.backhaul.close()
        if self.central is not None:
            self.central.stop()
        if self.broker is not None:
            self.broker.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
