"""The replay on the real processes: the mesh's receptions played into the gateways' radios at their
scaled times, backhauls cut and restored, officers answering, outboxes watched, then a drain.

One thread (this one) owns the schedule; the radios' threads only enqueue what the gateways transmit.
Everything the scenario does and sees goes into the ``ScenarioLedger``.
"""

import functools
import heapq
import itertools
import queue
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from meshtastic.protobuf import mesh_pb2, portnums_pb2

from protocol import frames
from protocol.mesh import FLOODMESH_PORTNUM
from simulations.hue2023.airwaves import WardAir
from simulations.hue2023.ledger import AckOnAir, ScenarioLedger, confirmation, text_case_label
from simulations.hue2023.processes import Processes
from simulations.hue2023.time_scale import TimeScale
from simulations.hue2023.timeline import STATION_OF_WARD, Incident, Timeline, level_at_t, pressed_after_rescue
from simulations.mesh.flooding import SNR_MAX_DB, SNR_MIN_DB
from simulations.ward_sites import load_stations

BOOT_EPOCH = 1
HUMAN_S = {"ACK": (120.0, 600.0), "GO": (300.0, 1200.0), "DONE": (1800.0, 10800.0)}  # the officer's pace
DRAIN_TIMEOUT_S = 180.0
NOISE_FLOOR_DBM = -120.0  # 125 kHz LoRa channel


class GatewayTransmissions:
    """What the gateways put on the air, queued by the radios' threads for the replay's thread."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[tuple[str, mesh_pb2.MeshPacket, float]] = queue.SimpleQueue()

    def hook(self, ward: str) -> Callable[[mesh_pb2.MeshPacket], None]:
        """The ``on_transmit`` of ``ward``'s radio."""
        def heard(packet: mesh_pb2.MeshPacket) -> None:
            self.queue.put((ward, packet, time.monotonic()))
        return heard


@dataclass
class RunTrace:
    """What the run observed over time, for the report."""

    outbox_depth: list[tuple[float, str, int]] = field(default_factory=list)  # (sim s, ward, depth)
    isolated_wards: list[tuple[float, int]] = field(default_factory=list)
    real_s: float = 0.0
    drain_real_s: float = 0.0
    drained: bool = False
    dead_processes: list[str] = field(default_factory=list)


class Replay:
    """Plays one timeline through running ``Processes``."""

    def __init__(self, timeline: Timeline, airs: dict[str, WardAir], procs: Processes, scale: TimeScale,
                 ledger: ScenarioLedger, transmissions: GatewayTransmissions,
                 progress: Callable[[str], None] | None = None) -> None:
        self.timeline, self.airs, self.procs, self.scale, self.ledger = timeline, airs, procs, scale, ledger
        self.trace = RunTrace()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._heard = transmissions.queue
        self._rng = random.Random(f"hue2023-officers:{timeline.config.seed}")
        self._incidents = {(i.ward, i.button): i for i in timeline.incidents}
        self._answered: set[tuple[str, str]] = set()
        self._rescued_s: dict[int, float] = {}  # button node -> sim time the ward confirmed its case resolved
        self._datum = {s.station_id: s.datum_m for s in load_stations()}
        self._progress = progress or _progress_line

    # --- the schedule ----------------------------------------------------------------------------

    def _at(self, sim_s: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (sim_s, next(self._order), action))

    def schedule(self) -> None:
        """Every reception, cut and restore of the timeline, at its simulated time."""
        for ward, air in self.airs.items():
            for h in air.heard:
                if not h.ref.startswith("cmd:"):
                    self._at(h.at_s, functools.partial(self._play, ward, h.ref, h.hops, h.snr_db, h.at_s))
        for cut in self.timeline.cuts:
            rig = self.procs.wards[cut.ward]
            self._at(cut.cut_s, rig.backhaul.cut)
            self._at(cut.restore_s, rig.backhaul.restore)

    def _frame(self, ward: str, ref: str) -> tuple[int, bytes] | None:
        kind, _, rest = ref.partition(":")
        _w, a, b = rest.split(":")
        if kind == "sos":
            return self._sos_frame(self._incidents[(ward, int(a))], int(b))
        if kind == "wl":
            node = self.procs.sensor_ids[(ward, int(a))]
            sent = self.airs[ward].first_sent_s[ref]
            station = STATION_OF_WARD[ward]
            level = level_at_t(self.timeline.config, station, sent) + 0.002 * ((int(b) * 7) % 5 - 2)
            distance = max(0, min(0xFFFF, round((self._datum[station] - level) * 1000)))
            frame = frames.Frame(node, BOOT_EPOCH, int(b), int(self.scale.unix(sent)), frames.WaterLevel(distance, 90))
            return node, frames.encode(frame, self._key(node))
        return None

    def _sos_frame(self, incident: Incident, k: int) -> tuple[int, bytes]:
        node = self.procs.button_ids[(incident.ward, incident.button)]
        press = incident.presses[k]
        payload: frames.Sos | frames.SosCancel
        if press.cancel:
            payload = frames.SosCancel(max(j for j in range(k) if not incident.presses[j].cancel))
        else:
            payload = frames.Sos(incident.kind, incident.people, incident.vulnerable)
        frame = frames.Frame(node, BOOT_EPOCH, k, int(self.scale.unix(press.t)), payload)
        return node, frames.encode(frame, self._key(node))

    def _pressed_after_rescue(self, ward: str, ref: str) -> bool:
        kind, _, rest = ref.partition(":")
        if kind != "sos":
            return False
        _w, button, k = rest.split(":")
        incident = self._incidents[(ward, int(button))]
        rescued = self._rescued_s.get(self.procs.button_ids[(ward, incident.button)])
        if not pressed_after_rescue(incident, int(k), rescued):
            return False
        self.ledger.withheld_after_rescue.add((ward, incident.button, int(k)))
        return True

    def _key(self, node: int) -> bytes:
        record = self.procs.registry.get(node)
        if record is None:
            raise KeyError(f"node {node:08x} is not in the scenario's registry")
        return record.key

    def _play(self, ward: str, ref: str, hops: int, snr: float, at_s: float) -> None:
        if self._pressed_after_rescue(ward, ref):
            return
        made = self._frame(ward, ref)
        if made is None:
            return
        node, data = made
        radio = self.procs.wards[ward].radio
        # What a LoRa receiver reports: SNR saturates near +10 dB (the model's own clamp) while the
        # model's link budget can say +60 dB next to a roof-top relay; RSSI follows the noise floor.
        reported_snr = min(max(snr, SNR_MIN_DB), SNR_MAX_DB)
        rssi = int(min(-30.0, NOISE_FLOOR_DBM + snr))
        try:
            radio.inject(node, FLOODMESH_PORTNUM, data, rssi=rssi, snr=round(reported_snr, 2), hop_start=3,
                         hop_limit=max(0, 3 - hops), rx_time=int(self.scale.unix(at_s)))
        except (ConnectionError, OSError):
            return  # the gateway let go of its radio (a crash the report names): the frame is not heard
        if ref.startswith("sos:"):
            self.ledger.played(node, int(ref.rsplit(":", 1)[1]), time.monotonic())

    # --- what the gateways transmit --------------------------------------------------------------

    def _take_heard(self) -> None:
        while True:
            try:
                ward, packet, real_t = self._heard.get_nowait()
            except queue.Empty:
                return
            if packet.decoded.portnum == FLOODMESH_PORTNUM:
                self._ack(ward, packet, real_t)
            elif packet.decoded.portnum == portnums_pb2.PortNum.TEXT_MESSAGE_APP:
                self._text(ward, packet.decoded.payload.decode("utf-8", "replace"))

    def _ack(self, ward: str, packet: mesh_pb2.MeshPacket, real_t: float) -> None:
        record = self.procs.registry.get(packet.to)
        if record is None:
            return
        try:
            frame = frames.decode(packet.decoded.payload, record.key)
        except frames.FrameError:
            return
        if isinstance(frame.payload, frames.Ack):
            ack = frame.payload
            self.ledger.ack_seen(AckOnAir(ward, packet.to, ack.sos_seq, ack.case_number, ack.state, real_t))

    def _text(self, ward: str, text: str) -> None:
        self.ledger.texts_to_officers += 1
        confirmed = confirmation(text)
        if confirmed is not None:
            self.ledger.confirmed_on_air(ward, *confirmed)
            node = self.ledger.labels.get((ward, confirmed[0]))
            if confirmed[1] == "resolved" and node is not None:
                self._rescued_s.setdefault(node, self.scale.sim_at(time.monotonic()))
            return
        label = text_case_label(text)
        if label is None or (ward, label) in self._answered:
            return
        self._answered.add((ward, label))
        air, now = self.airs[ward], self.scale.sim_at(time.monotonic())
        t = now + air.officer_delay(self._rng)  # the case text reaches the handheld
        for verb, (low, high) in HUMAN_S.items():
            t += self._rng.uniform(low, high)
            self._at(t + air.officer_delay(self._rng), functools.partial(self._command, ward, label, verb))

    def _command(self, ward: str, label: str, verb: str) -> None:
        node = self.ledger.labels.get((ward, label))
        incident = next((i for (w, _b), i in self._incidents.items()
                         if w == ward and self.procs.button_ids[(w, i.button)] == node), None)
        cancelled = incident.cancelled_at if incident is not None else None
        if cancelled is not None and cancelled <= self.scale.sim_at(time.monotonic()):
            return  # the resident withdrew it: the officer has nothing to answer
        rig = self.procs.wards[ward]
        try:
            rig.radio.inject(rig.officer_node, portnums_pb2.PortNum.TEXT_MESSAGE_APP, f"{label} {verb}".encode(),
                             pki_public_key=rig.officer_public)
        except (ConnectionError, OSError):
            return
        self.ledger.officer_commands += 1

    # --- running ---------------------------------------------------------------------------------

    def run(self) -> RunTrace:
        """Play the whole window, then drain: every outbox empty with every backhaul back."""
        duration = self.timeline.config.duration_s
        started, next_sample = time.monotonic(), 0.0
        while True:
            now = time.monotonic()
            sim = self.scale.sim_at(now)
            self._take_heard()
            while self._heap and self._heap[0][0] <= min(sim, duration):
                heapq.heappop(self._heap)[2]()
            if now >= next_sample:
                self._sample(sim)
                next_sample = now + 1.0
            if sim >= duration:
                break
            wake = self.scale.real_at(self._heap[0][0]) if self._heap else now + 0.05
            time.sleep(min(0.05, max(0.0, wake - time.monotonic())))
        self.trace.real_s = time.monotonic() - started
        self._drain()
        self.trace.dead_processes = self.procs.dead()
        return self.trace

    def _sample(self, sim: float) -> None:
        isolated = sum(1 for w in self.procs.wards if self.timeline.isolated(w, sim))
        self.trace.isolated_wards.append((sim, isolated))
        for ward, rig in self.procs.wards.items():
            self.trace.outbox_depth.append((sim, ward, rig.outbox_depth()))
        cfg = self.timeline.config
        self._progress(f"simulated {sim / 3600:5.1f} h of {cfg.hours:g} h at {self.scale.factor:g}x | "
                       f"SOS frames played {self.ledger.injected_count} | button ACKs {len(self.ledger.acks)} | "
                       f"officer commands {self.ledger.officer_commands} | wards cut off {isolated}")

    def _drain(self) -> None:
        for rig in self.procs.wards.values():
            rig.backhaul.restore()
        started = time.monotonic()
        empty_polls = 0
        while time.monotonic() - started < DRAIN_TIMEOUT_S:
            self._take_heard()
            depth = sum(rig.outbox_depth() for rig in self.procs.wards.values())
            empty_polls = empty_polls + 1 if depth == 0 else 0
            if empty_polls >= 3:
                self.trace.drained = True
                break
            self._progress(f"draining: {depth} messages still in the gateways' outboxes")
            time.sleep(0.5)
        self._take_heard()
        self.trace.drain_real_s = time.monotonic() - started


def _progress_line(text: str) -> None:
    sys.stderr.write("\r" + text[:150].ljust(150))
    sys.stderr.flush()
