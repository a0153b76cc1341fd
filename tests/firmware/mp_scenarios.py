"""Firmware scenarios that run unchanged under CPython (pytest imports them) and MicroPython.

``micropython tests/firmware/mp_scenarios.py`` from the repository root prints ``N passed, N failed``
and exits non-zero on a failure. Every ``scenario_*`` function is one resident- or river-level story;
plain ``assert`` only (MicroPython has no pytest).
"""

import json
import sys

sys.path.insert(0, ".")

from firmware.led import led_on
from firmware.ranging import echo_to_mm, median_mm
from firmware.sequence import Sequence
from firmware.sos_button import SosButton
from firmware.stream import StreamReader, wrap
from firmware.water_level import WaterLevelSensor
from protocol import frames
from tests.firmware import mp_runner

KEY = bytes(range(16))
OTHER_KEY = bytes(range(1, 17))
NODE = 184549442
SENSOR = 167772161
T0 = 1700000000


def _vectors() -> dict:
    with open("protocol/vectors.json") as fh:
        doc = json.load(fh)
    return {v["name"]: v for v in doc["valid"]}


def _ack(node_id: int, sos_seq: int, case: int, state: int, key: bytes = KEY, sos_boot: int = 1) -> bytes:
    f = frames.Frame(node_id, 7, 1, T0 + 5, frames.Ack(sos_boot, sos_seq, case, state))
    return frames.encode(f, key)


def _one(out: list) -> bytes:
    """The one frame a sample produced, or b"" (batch size 1 never sends two)."""
    assert len(out) <= 1, out
    return out[0] if out else b""


def _config(node_id: int, interval_s: int, key: bytes = KEY) -> bytes:
    return frames.encode(frames.Frame(node_id, 7, 2, T0, frames.Config(interval_s)), key)


def scenario_press_builds_sos() -> None:
    b = SosButton(NODE, KEY, 4)
    assert b.led == "off"
    assert b.case_number is None
    data = b.press(1000, T0, kind=1, people=3, vulnerable=2, lat_e6=16478670, lon_e6=107577220)
    f = frames.decode(data, KEY)
    assert f.event_id == (NODE, 4, 0)
    assert f.node_ts == T0
    assert f.payload == frames.Sos(1, 3, 2, 16478670, 107577220)
    assert b.led == "sending"


def scenario_press_matches_vector_bytes() -> None:
    v = _vectors()["sos_trapped_no_gps"]
    fr = v["frame"]
    b = SosButton(fr["node_id"], bytes.fromhex(v["key"]), fr["boot_epoch"], seq=Sequence(fr["seq"]))
    assert b.press(0, fr["node_ts"], kind=2, people=6).hex() == v["hex"]


def scenario_debounce() -> None:
    b = SosButton(NODE, KEY, 1)
    first = b.press(10000, T0)
    assert first
    assert b.press(10001, T0) == b""
    assert b.press(11499, T0 + 1) == b""
    second = b.press(11500, T0 + 1)
    assert second
    assert frames.decode(second, KEY).seq == 1


def scenario_retry_schedule_same_bytes() -> None:
    b = SosButton(NODE, KEY, 1)
    data = b.press(0, T0)
    assert b.due(4999, T0 + 4) == b""
    assert b.due(5000, T0 + 5) == data
    assert b.due(5001, T0 + 5) == b""
    t = 5000
    for wait in (10000, 20000, 40000, 60000, 60000, 60000):
        assert b.due(t + wait - 1, T0) == b""
        assert b.due(t + wait, T0) == data
        t += wait
        assert b.led == ("retrying" if wait >= 20000 else "sending")  # 4th send onwards: failure shown
    assert b.retrying()
    seq = frames.decode(data, KEY).seq
    assert b.on_downlink(_ack(NODE, seq, 42, 1))
    assert b.led == "registered"


def scenario_foreign_acks_ignored() -> None:
    b = SosButton(NODE, KEY, 1)
    data = b.press(0, T0)
    seq = frames.decode(data, KEY).seq
    assert not b.on_downlink(_ack(NODE + 1, seq, 42, 1, OTHER_KEY))  # a neighbour's ACK
    assert not b.on_downlink(_ack(NODE + 1, seq, 42, 1, KEY))  # tagged with our key, addressed elsewhere
    assert not b.on_downlink(_ack(NODE, seq, 42, 1, OTHER_KEY))  # bad tag
    bad = bytearray(_ack(NODE, seq, 42, 1))
    bad[-1] ^= 1
    assert not b.on_downlink(bytes(bad))
    assert not b.on_downlink(_ack(NODE, seq + 1, 42, 1))  # not our SOS
    assert not b.on_downlink(_ack(NODE, seq, 42, 1, sos_boot=2))  # same seq, SOS of another boot
    assert not b.on_downlink(b"\x01\x02garbage")
    assert not b.on_downlink(b"")
    assert not b.on_downlink(_config(NODE, 60))
    assert b.led == "sending"
    assert b.case_number is None
    assert b.due(5000, T0 + 5) == data


def scenario_matching_ack_registers() -> None:
    b = SosButton(NODE, KEY, 1)
    data = b.press(0, T0)
    assert b.due(5000, T0) == data
    assert b.on_downlink(_ack(NODE, frames.decode(data, KEY).seq, 42, 1))
    assert b.led == "registered"
    assert b.case_number == 42
    assert not b.retrying()
    for t in (10000, 15000, 60000, 600000):
        assert b.due(t, T0) == b""


def scenario_ack_vector_accepted() -> None:
    v = _vectors()["ack_registered"]
    key = bytes.fromhex(v["key"])
    b = SosButton(v["frame"]["node_id"], key, 1, seq=Sequence(v["frame"]["payload"]["sos_seq"]))
    b.press(0, T0)
    assert b.on_downlink(bytes.fromhex(v["hex"]))
    assert (b.led, b.case_number) == ("registered", 42)


def scenario_ack_states_move_forward_only() -> None:
    b = SosButton(NODE, KEY, 1)
    seq = frames.decode(b.press(0, T0), KEY).seq
    assert b.on_downlink(_ack(NODE, seq, 0, 0))
    assert b.led == "received"
    assert not b.retrying()
    assert b.on_downlink(_ack(NODE, seq, 42, 3))
    assert b.led == "dispatched"
    assert not b.on_downlink(_ack(NODE, seq, 42, 1))  # overtaken on the mesh: ignored
    assert b.led == "dispatched"
    assert b.on_downlink(_ack(NODE, seq, 42, 4))
    assert b.led == "resolved"
    assert b.cancel(1000, T0) == b""  # nothing left to withdraw


def scenario_new_press_supersedes() -> None:
    b = SosButton(NODE, KEY, 1)
    old = frames.decode(b.press(0, T0), KEY).seq
    new = frames.decode(b.press(2000, T0 + 2), KEY).seq
    assert new != old
    assert not b.on_downlink(_ack(NODE, old, 41, 1))
    assert b.on_downlink(_ack(NODE, new, 42, 1))
    assert b.case_number == 42


def scenario_cancel() -> None:
    b = SosButton(NODE, KEY, 1)
    assert b.cancel(0, T0) == b""  # nothing pending
    sos = frames.decode(b.press(0, T0), KEY)
    assert b.on_downlink(_ack(NODE, sos.seq, 42, 1))
    data = b.cancel(10000, T0 + 10)
    f = frames.decode(data, KEY)
    assert f.payload == frames.SosCancel(sos.seq)
    assert f.seq == sos.seq + 1
    assert b.led == "cancelling"
    assert b.cancel(10100, T0 + 10) == b""
    assert b.due(15000, T0 + 15) == data  # the cancel is retried like the SOS
    assert b.on_downlink(_ack(NODE, sos.seq, 42, 2))  # crossing update: still cancelling
    assert b.led == "cancelling"
    assert b.retrying()
    assert b.on_downlink(_ack(NODE, sos.seq, 42, 5))
    assert b.led == "cancelled"
    assert not b.retrying()
    assert b.due(100000, T0) == b""


def scenario_cancel_unacknowledged() -> None:
    b = SosButton(NODE, KEY, 1)
    sos = frames.decode(b.press(0, T0), KEY)
    data = b.cancel(2000, T0 + 2)
    assert frames.decode(data, KEY).payload == frames.SosCancel(sos.seq)
    assert b.due(5000, T0 + 5) == b""  # the SOS is no longer retried...
    assert b.due(7000, T0 + 7) == data  # ...its cancel is


def scenario_water_level_schedule() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 3)
    first = _one(w.sample(T0, 2350, 87))
    f = frames.decode(first, KEY)
    assert f.event_id == (SENSOR, 3, 0)
    assert f.payload == frames.WaterLevel(2350, 87, 0)
    assert _one(w.sample(T0 + 60, 2340, 87)) == b""  # steady: wait for the interval
    assert _one(w.sample(T0 + 299, 2340, 87)) == b""
    assert frames.decode(_one(w.sample(T0 + 300, 2340, 87)), KEY).seq == 1


def scenario_water_level_rising_fast() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 3)
    assert _one(w.sample(T0, 2350, 87))
    assert _one(w.sample(T0 + 30, 2250, 87)) == b""  # moved, but fast_interval_s not yet
    data = _one(w.sample(T0 + 60, 2300, 87))  # 50 mm closer to the sensor: water rising
    assert frames.decode(data, KEY).payload.distance_mm == 2300
    assert _one(w.sample(T0 + 120, 2260, 87)) == b""  # 40 mm since the last report: not fast
    assert _one(w.sample(T0 + 180, 2200, 87))  # 100 mm since the last report


def scenario_water_level_vector_bytes() -> None:
    vs = _vectors()
    wl, st = vs["water_level_kim_long"], vs["node_status"]
    fr = wl["frame"]
    w = WaterLevelSensor(fr["node_id"], bytes.fromhex(wl["key"]), fr["boot_epoch"], seq=Sequence(fr["seq"]))
    assert _one(w.sample(fr["node_ts"], 2350, 87)).hex() == wl["hex"]
    sp = st["frame"]["payload"]
    got = w.status(st["frame"]["node_ts"], sp["uptime_s"], sp["unsent"], sp["battery_pct"])
    assert got.hex() == st["hex"]


def scenario_config_downlink() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 3)
    assert not w.on_downlink(_config(SENSOR + 1, 60))
    assert not w.on_downlink(_config(SENSOR, 60, OTHER_KEY))
    assert not w.on_downlink(_ack(SENSOR, 0, 1, 1))
    assert w.interval_s == 300
    assert w.on_downlink(_config(SENSOR, 60))
    assert w.interval_s == 60
    assert _one(w.sample(T0, 2000, 90))
    assert _one(w.sample(T0 + 59, 2000, 90)) == b""
    assert _one(w.sample(T0 + 60, 2000, 90))
    v = _vectors()["config_interval"]
    w2 = WaterLevelSensor(v["frame"]["node_id"], bytes.fromhex(v["key"]), 1, interval_s=60)
    assert w2.on_downlink(bytes.fromhex(v["hex"]))
    assert w2.interval_s == 300


def scenario_water_level_fault_and_battery() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 3)
    p = frames.decode(_one(w.sample(T0, None, 10)), KEY).payload
    assert (p.distance_mm, p.flags) == (0xFFFF, frames.WL_SENSOR_FAULT | frames.WL_LOW_BATTERY)
    assert w.last_distance_mm is None
    p = frames.decode(_one(w.sample(T0 + 300, 70000, 150)), KEY).payload
    assert (p.distance_mm, p.battery_pct, p.flags) == (0xFFFF, 100, frames.WL_SENSOR_FAULT)


def scenario_shared_sequence_wraps() -> None:
    s = Sequence(65535)
    w = WaterLevelSensor(SENSOR, KEY, 3, seq=s)
    assert frames.decode(_one(w.sample(T0, 1000, 50)), KEY).seq == 65535
    assert frames.decode(w.status(T0, 10, 0, 50), KEY).seq == 0
    assert s.peek() == 1


def scenario_median() -> None:
    assert median_mm([1000, 1010, 990, 5, 9000]) == 1000
    assert median_mm([1000, 1010, -1, -2]) == 1005
    assert median_mm([1000, -1, -1, -1, 7000]) is None  # mostly garbage: no reading
    assert median_mm([]) is None
    assert median_mm([300, 100], lo=50) == 200
    assert echo_to_mm(5830, 20) == 1001
    assert echo_to_mm(0) == 0


def scenario_led_patterns() -> None:
    assert not led_on("off", 0)
    assert not led_on("cancelled", 123)
    assert led_on("registered", 0)
    assert led_on("registered", 99999)
    assert led_on("sending", 50)
    assert not led_on("sending", 150)
    assert led_on("sending", 250)
    assert led_on("dispatched", 0)
    assert not led_on("dispatched", 200)
    assert led_on("dispatched", 350)
    assert not led_on("dispatched", 1000)


def scenario_stream_framing() -> None:
    r = StreamReader()
    a, b = b"\x01\x02\x03", bytes(range(40))
    blob = b"INFO log \x94 text\n" + wrap(a) + b"\x94\x94" + wrap(b)
    got = []
    for i in range(0, len(blob), 7):
        got += r.feed(blob[i : i + 7])
    assert got == [a, b]
    assert wrap(b"") == b"\x94\xc3\x00\x00"


def scenarios() -> list:
    """Every scenario function, by name."""
    return mp_runner.scenarios(globals())


def main() -> int:
    """Run every scenario; print failures and ``N passed, N failed``."""
    return mp_runner.run(scenarios())


if __name__ == "__main__":
    sys.exit(main())
