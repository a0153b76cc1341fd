"""Radio-link, flash-queue and button-gesture scenarios; run unchanged under CPython and MicroPython.

``micropython tests/firmware/mp_scenarios_link.py`` from the repository root prints ``N passed, N failed``.
The Meshtastic byte vectors come from tests/firmware/meshtastic_vectors.json, built with the real
``meshtastic`` protobufs on CPython.
"""

import json
import os
import sys

sys.path.insert(0, ".")

from firmware import gestures, mesh_link, pb
from firmware.flash_queue import FlashQueue, backoff_ms
from firmware.gestures import Gestures
from firmware.led import beep_on
from firmware.pressure import depth_mm, distance_mm
from firmware.sos_button import SosButton
from firmware.stream import wrap
from firmware.uplink import Uplink
from protocol import frames
from tests.firmware import mp_runner

KEY = bytes(range(16))
NODE = 184549442
T0 = 1700000000
QFILE = "/tmp/floodmesh_mp_queue.bin"


def _mesh() -> dict:
    with open("tests/firmware/meshtastic_vectors.json") as fh:
        return json.load(fh)


def _rm(path: str) -> None:
    for p in (path, path + ".tmp"):
        try:
            os.remove(p)
        except OSError:
            pass


def scenario_to_radio_bytes_match_meshtastic() -> None:
    for v in _mesh()["to_radio"]:
        if v["name"] == "want_config":
            got = mesh_link.to_radio_want_config(v["nonce"])
        elif v["name"] == "heartbeat":
            got = mesh_link.to_radio_heartbeat()
        else:
            a = v["args"]
            got = mesh_link.to_radio_packet(bytes.fromhex(a[0]), a[1], a[2], a[3], a[4], a[5])
        assert got.hex() == v["hex"], v["name"]


def scenario_from_radio_events_match_meshtastic() -> None:
    for v in _mesh()["from_radio"]:
        ev = mesh_link.parse_from_radio(bytes.fromhex(v["hex"]))
        got = None if ev is None else [x.hex() if isinstance(x, bytes) else x for x in ev]
        assert got == v["expect"], v["name"]


def scenario_pb_varints_and_garbage() -> None:
    for n in (0, 1, 127, 128, 300, 0xFFFFFFFF):
        assert pb.fields(pb.varint(8) + pb.varint(n)) == [(1, 0, n)]
    assert pb.varint(-1) == b"\xff" * 9 + b"\x01"
    for bad in (b"\x08", b"\x08\x80", b"\x0a\x05ab", b"\x0d\x01\x02", b"\x0b", b"\x00\x01", b"\x08" + b"\xff" * 11):
        try:
            pb.fields(bad)
            raise AssertionError(bad)
        except ValueError:
            pass


def scenario_link_skips_garbage_and_keeps_going() -> None:
    link = mesh_link.MeshLink()
    ack = bytes.fromhex(_mesh()["from_radio"][0]["hex"])
    blob = b"DEBUG \x94\x94 x" + wrap(b"\x0a\x05ab") + wrap(b"\xff\xff") + b"\x94\xc3\xff\xff" + wrap(ack)
    evs = []
    for i in range(0, len(blob), 5):
        evs += link.feed(blob[i : i + 5])
    assert link.garbage == 2
    assert len(evs) == 1
    assert evs[0][0] == mesh_link.EV_FRAME
    assert link.heard_radio


def scenario_queue_drops_oldest_telemetry_never_sos() -> None:
    q = FlashQueue(None, capacity=3)
    assert q.push(b"t1")
    assert q.push(b"S1", True)
    assert q.push(b"t2")
    assert not q.push(b"t2")  # already waiting: a retransmission, not a new frame
    assert q.push(b"t3")  # full: t1 (oldest telemetry) goes
    assert [f for _u, f in q.items] == [b"S1", b"t2", b"t3"]
    assert q.dropped == 1
    assert q.push(b"S2", True)
    assert q.push(b"S3", True)
    assert [f for _u, f in q.items] == [b"S1", b"S2", b"S3"]
    assert not q.push(b"t4")  # full of SOS: the reading is refused
    assert q.push(b"S4", True)  # ...and an SOS still gets in
    assert len(q) == 4
    assert q.dropped == 4
    assert not q.push(b"")
    assert not q.push(b"x" * 256)


def scenario_queue_persists_and_survives_corruption() -> None:
    _rm(QFILE)
    q = FlashQueue(QFILE, capacity=8)
    q.push(b"reading-1")
    q.push(b"sos-1", True)
    q2 = FlashQueue(QFILE)  # after a reboot
    assert q2.items == [[False, b"reading-1"], [True, b"sos-1"]]
    with open(QFILE, "ab") as fh:
        fh.write(b"\x01\x09sos-")  # a record cut short by a brown-out
    q3 = FlashQueue(QFILE)
    assert len(q3) == 2
    assert q3.lost_on_load == 6
    with open(QFILE, "wb") as fh:
        fh.write(b"\x07garbage")
    q4 = FlashQueue(QFILE)
    assert len(q4) == 0
    assert q4.lost_on_load == 8
    _rm(QFILE)


def scenario_queue_backoff() -> None:
    assert [backoff_ms(n) for n in (1, 2, 3, 8, 9, 50)] == [2000, 4000, 8000, 256000, 300000, 300000]
    q = FlashQueue(None)
    q.push(b"a")
    assert q.due(0) == b"a"
    q.failed(1000)
    assert q.due(2999) == b""
    assert q.due(3000) == b"a"
    q.failed(3000)
    assert q.due(6999) == b""
    assert q.due(7000) == b"a"
    q.delivered(b"a")
    assert len(q) == 0
    assert q.failures == 0


def _from_routing(pid: int, err: int) -> bytes:
    data = pb.f_varint(1, 5) + pb.f_bytes(2, pb.f_varint(3, err)) + pb.f_fixed32(6, pid)
    return wrap(pb.f_bytes(2, pb.f_fixed32(1, 99) + pb.f_bytes(4, data)))


def _sent_id(data: bytes) -> int:
    pkt = pb.fields(pb.first_bytes(pb.fields(data[4:]), 1))
    return pb.first_int(pkt, 6)


def scenario_uplink_ack_nak_timeout() -> None:
    up = Uplink(mesh_link.MeshLink(first_id=10), FlashQueue(None), ack_timeout_ms=1000)
    up.submit(b"first")
    up.submit(b"second")
    d = up.poll(0)
    assert _sent_id(d) == 10
    assert up.poll(10) == b""  # one in flight
    assert up.feed(_from_routing(10, 0), 20) == []
    assert len(up.queue) == 1
    assert up.delivered == 1
    d = up.poll(30)
    assert _sent_id(d) == 11
    up.feed(_from_routing(999, 0), 40)  # someone else's ACK
    assert len(up.queue) == 1
    up.feed(_from_routing(11, 5), 50)  # NAK: back off 2 s
    assert up.poll(2049) == b""
    assert _sent_id(up.poll(2050)) == 12  # same frame, new packet id
    assert up.poll(3049) == b""
    assert up.poll(3050) == b""  # radio silent past the timeout: failure 2, back off 4 s
    assert up.queue.failures == 2
    assert _sent_id(up.poll(7050)) == 13
    q = pb.f_bytes(11, pb.f_varint(1, 1) + pb.f_varint(4, 13))  # its TX queue refused it
    up.feed(wrap(q), 7060)
    assert up.queue.failures == 3
    assert len(up.queue) == 1


def scenario_gestures() -> None:
    g = Gestures()
    assert g.update(True, True, 0) == gestures.NONE
    assert g.update(False, False, 10) == gestures.NONE  # 10 ms: chatter
    assert g.update(True, True, 1000) == gestures.NONE
    assert g.update(False, False, 1100) == gestures.PRESS
    assert g.update(True, True, 5000) == gestures.NONE
    assert g.update(True, False, 7999) == gestures.NONE
    assert g.update(True, False, 8000) == gestures.HOLD
    assert g.update(True, False, 9000) == gestures.NONE  # once per hold
    assert g.update(False, False, 9100) == gestures.NONE  # releasing a hold is no press
    g = Gestures()
    assert g.update(False, True, 20000) == gestures.PRESS  # a tap between two polls: only the edge
    assert g.update(False, True, 20800) == gestures.PRESS
    assert g.update(False, True, 21600) == gestures.MEDICAL  # third press within 2.5 s
    assert g.update(False, True, 22000) == gestures.PRESS  # the pattern starts over
    g = Gestures()
    for t in (0, 2000, 4000):
        assert g.update(False, True, t) == gestures.PRESS  # too slow for the pattern


def scenario_medical_pattern_supersedes() -> None:
    b = SosButton(NODE, KEY, 1)
    first = frames.decode(b.press(0, T0, kind=0, people=3, vulnerable=2), KEY)
    assert b.press(800, T0) == b""  # debounced
    med = frames.decode(b.medical(1600, T0 + 1), KEY)
    assert med.payload == frames.Sos(1, 3, 2)
    assert med.seq == first.seq + 1
    assert b.sos_seq == med.seq
    assert b.led == "sending"
    assert b.press(2000, T0 + 2) == b""  # the debounce restarts at the medical SOS


def scenario_buzzer_beeps_once() -> None:
    assert beep_on("registered", 0)
    assert not beep_on("registered", 100)
    assert beep_on("registered", 170)
    assert not beep_on("registered", 240)
    assert not beep_on("registered", 100000)
    assert beep_on("retrying", 500)
    assert not beep_on("retrying", 600)
    assert not beep_on("off", 0)
    assert not beep_on("unknown", 0)


def scenario_pressure_transducer() -> None:
    assert depth_mm(600000) == 0  # 4 mA through 150 ohm
    assert depth_mm(3000000) == 5000  # 20 mA: full range
    assert depth_mm(1800000) == 2500  # 12 mA
    assert depth_mm(0) is None  # open loop
    assert depth_mm(3200000) is None  # 21.3 mA: shorted or over range
    assert depth_mm(590000) == 0  # 3.93 mA: tolerance below 4 mA clamps to empty
    assert distance_mm([1800000, 1800000, 0], ref_mm=8000) == 5500
    assert distance_mm([1800000, 0, 0], ref_mm=8000) is None
    assert distance_mm([3000000], ref_mm=3000) == 0  # water over the reference: clamps at 0


def scenarios() -> list:
    """Every scenario function, by name."""
    return mp_runner.scenarios(globals())


def main() -> int:
    """Run every scenario; print failures and ``N passed, N failed``."""
    return mp_runner.run(scenarios())


if __name__ == "__main__":
    sys.exit(main())
