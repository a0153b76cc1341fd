"""kill -9 of the gateway process at random moments while the radio streams SOS and readings.

"Handed over" means taken from the radio into the gateway's durable outbox (what a restarted
gateway finds on disk after each kill); every such frame must reach central exactly once. A frame
still in a socket buffer or in memory at the kill is lost to the gateway; an SOS is then retried by
its button until central has it (as the firmware does), a reading is counted as lost in the window.
"""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.core.config import CentralSettings
from central.service import CentralService
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from floodmesh.broker import RunningBroker, settings_fields
from protocol import frames
from protocol.mesh import FLOODMESH_PORTNUM
from protocol.registry import NodeRecord, NodeRegistry
from simulations.meshtastic_radio import SimulatedMeshtasticRadio
from tests.mqtt_peer import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WARD, GW = "19813", "gw-19813"
ROUNDS = int(os.environ.get("FLOODMESH_KILL_ROUNDS", "50"))
EventId = tuple[int, int, int]


class Stream:
    """Frames the radio keeps handing to whatever gateway is connected."""

    def __init__(self, radio: SimulatedMeshtasticRadio, registry: NodeRegistry, rng: random.Random) -> None:
        self._radio, self._rng = radio, rng
        self._sensors = [r for r in registry if r.kind == "water_level"]
        self._buttons = [r for r in registry if r.kind == "sos_button"]
        self._seq: dict[int, int] = {}
        self.written: dict[EventId, bytes] = {}  # frames written to the gateway's socket
        self.sos: dict[EventId, tuple[NodeRecord, bytes]] = {}

    def _next(self, rec: NodeRecord, payload: frames.WaterLevel | frames.Sos) -> tuple[EventId, bytes]:
        seq = self._seq.get(rec.node_id, 0)
        self._seq[rec.node_id] = seq + 1
        frame = frames.Frame(rec.node_id, 1, seq, 1_764_000_000 + seq, payload)
        return frame.event_id, frames.encode(frame, rec.key)

    def run(self, stop: threading.Event) -> None:
        """Stream until the radio loses its client (the gateway was killed) or ``stop``."""
        while not stop.is_set():
            if self._rng.random() < 0.05:
                rec = self._rng.choice(self._buttons)
                event, data = self._next(rec, frames.Sos(self._rng.randrange(5), self._rng.randint(1, 9)))
                self.sos[event] = (rec, data)
            else:
                event, data = self._next(self._rng.choice(self._sensors), frames.WaterLevel(6000, 90))
            try:
                self._radio.inject(event[0], FLOODMESH_PORTNUM, data)
            except (ConnectionError, OSError):
                return
            self.written[event] = data
            stop.wait(0.002)  # pacing, and a prompt end when the round is over


def _rows(db: Path, sql: str) -> list[tuple[int, ...]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [tuple(r) for r in conn.execute(sql)]


def _event_ids(outbox: Path, registry: NodeRegistry) -> set[EventId]:
    """Every radio frame a killed gateway left in its outbox."""
    out = set()
    for node_id, data in _rows(outbox, "SELECT node_id, frame FROM outbox WHERE kind != 'case_events'"):
        rec = registry.get(int(node_id))
        if rec is not None:
            out.add(frames.decode(bytes(data), rec.key).event_id)  # type: ignore[arg-type]
    return out


@pytest.fixture
def central(tmp_path: Path, mosquitto: RunningBroker) -> Iterator[tuple[CentralService, NodeRegistry, Path]]:
    registry = build_fleet([StationSite("kim_long", WARD, 16.41667, 107.5667)], [ButtonSite(WARD)] * 6,
                           sensors_per_station=12)  # real keys: `floodmesh gateway` refuses demo ones
    registry.save(tmp_path / "nodes.json")
    db = tmp_path / "central.db"
    service = CentralService(CentralSettings(db_path=db, registry_path=tmp_path / "nodes.json",
                                             **settings_fields(mosquitto.endpoint_for_central()), api_port=0))
    service.start()
    yield service, registry, db
    service.stop()


def test_kill_9_at_random_moments_loses_nothing_handed_over(
    tmp_path: Path, mosquitto: RunningBroker, central: tuple[CentralService, NodeRegistry, Path]
) -> None:
    _service, registry, db = central
    rng = random.Random(20231115)
    radio = SimulatedMeshtasticRadio(0x0F000001)
    stream = Stream(radio, registry, rng)
    outbox = tmp_path / "outbox.db"
    cmd = [sys.executable, "-m", "floodmesh", "gateway", "--ward", WARD, "--gateway", GW,
           *_gateway_flags(mosquitto), "--radio", f"tcp:{radio.host}:{radio.port}",
           "--registry", str(tmp_path / "nodes.json"), "--outbox", str(outbox)]
    handed_over: set[EventId] = set()
    log = (tmp_path / "gateway.log").open("ab")
    try:
        for _round in range(ROUNDS):
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            assert radio.connected.wait(60), "gateway never completed the radio handshake"
            stop = threading.Event()
            streamer = threading.Thread(target=stream.run, args=(stop,))
            streamer.start()
            # The kill lands after a random number of frames went to the gateway (not after a random
            # time, which a loaded machine would fill with nothing): always mid-flow, from the first frame.
            due = len(stream.written) + rng.randint(1, 200)
            wait_until(lambda due=due, streamer=streamer: len(stream.written) >= due or not streamer.is_alive(),
                       timeout_s=60, what="frames streamed to the gateway before its kill")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            stop.set()
            streamer.join(timeout=30)
            wait_until(lambda: not radio.connected.is_set(), what="the radio to lose its client")
            handed_over |= _event_ids(outbox, registry)

        # The last restart, for good: the outbox drains, and each button whose latest SOS died in a
        # kill retries it (a newer press supersedes an older one in the firmware, so only the latest).
        latest = {rec.node_id: (event, data) for event, (rec, data) in stream.sos.items()}
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            assert radio.connected.wait(60)
            for event, data in latest.values():
                if event not in _sos_at(db):
                    radio.inject(event[0], FLOODMESH_PORTNUM, data)
            must_reach = {e for e, _d in latest.values()} | (handed_over & set(stream.sos))
            wait_until(lambda: must_reach <= _sos_at(db), timeout_s=120, what="every SOS due at central")
            wait_until(lambda: handed_over - set(stream.sos) <= set(_readings(db)), timeout_s=120,
                       what="every reading handed over at central")
            wait_until(lambda: _rows(outbox, "SELECT count(*) FROM outbox") == [(0,)], timeout_s=120,
                       what="the outbox drained")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        log.close()
        radio.close()

    stored = _readings(db)
    assert len(stored) == len(set(stored)), "a reading stored twice"
    assert set(stored) <= set(stream.written), "central stored something the radio never sent"
    cases = _rows(db, "SELECT node_id FROM cases")
    assert sorted(cases) == sorted({(n,) for n in latest}), "each button one case: presses merge, never duplicate"
    lost = len(set(stream.written) - set(stream.sos) - set(stored))
    print(f"\n{ROUNDS} kill -9 rounds: {len(stream.written)} frames written, {len(handed_over)} handed over, "
          f"{len(stored)} readings and {len(_sos_at(db))} SOS at central in {len(cases)} cases, "
          f"{lost} readings lost in kill windows")


def _readings(db: Path) -> list[tuple[int, ...]]:
    return _rows(db, "SELECT node_id, boot_epoch, seq FROM readings")


def _sos_at(db: Path) -> set[tuple[int, ...]]:
    return set(_rows(db, "SELECT node_id, boot_epoch, seq FROM events WHERE kind = 'sos'"))


def _gateway_flags(broker: RunningBroker) -> list[str]:
    broker.add_gateway(WARD, GW)
    return broker.cli_args(GW)
