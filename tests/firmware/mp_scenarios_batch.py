"""The water-level sensor's batches and deep-sleep state, under CPython and MicroPython alike.

``micropython tests/firmware/mp_scenarios_batch.py`` from the repository root prints
``N passed, N failed``; plain ``assert`` only.
"""

import json
import sys

sys.path.insert(0, ".")

from firmware.sequence import Sequence
from firmware.water_level import WaterLevelSensor
from protocol import frames
from tests.firmware import mp_runner

KEY = bytes(range(16))
SENSOR = 167772161
T0 = 1700000000


def _decode(out: list) -> list:
    return [frames.decode(d, KEY) for d in out]


def _readings(out: list) -> list:
    got = []
    for f in _decode(out):
        got += frames.split_batch(f)
    return got


def _steady(w: WaterLevelSensor, t: int, mm: int) -> None:
    """As after a first reading at ``t`` (what the vectors assume): the next is due on the grid."""
    w.last_report_s = t
    w.last_distance_mm = mm
    w.due_s = t + w.interval_s


def scenario_batch_matches_vector_bytes() -> None:
    with open("protocol/vectors.json") as fh:
        v = next(x for x in json.load(fh)["valid"] if x["name"] == "water_level_batch_six")
    fr = v["frame"]
    w = WaterLevelSensor(fr["node_id"], bytes.fromhex(v["key"]), fr["boot_epoch"], seq=Sequence(18), batch=6)
    _steady(w, T0, 2355)
    out = []
    for i, mm in enumerate(fr["payload"]["distances_mm"]):
        out += w.sample(T0 + 300 * (i + 1), mm, 86)
    assert [d.hex() for d in out] == [v["hex"]]
    assert w.seq.peek() == 24


def scenario_first_reading_after_boot_goes_alone_then_batches() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 3, batch=3)
    first = _decode(w.sample(T0, 2000, 90))
    assert [f.kind for f in first] == ["water_level"]
    assert w.sample(T0 + 300, 2001, 90) == []
    assert w.sample(T0 + 450, 2001, 90) == []  # between readings: not due
    assert w.sample(T0 + 600, 2002, 90) == []
    out = _decode(w.sample(T0 + 900, 2003, 90))
    assert [f.kind for f in out] == ["water_level_batch"]
    assert out[0].event_id == (SENSOR, 3, 3)
    got = frames.split_batch(out[0])
    assert [(r.seq, r.node_ts, r.payload.distance_mm) for r in got] == [
        (1, T0 + 300, 2001), (2, T0 + 600, 2002), (3, T0 + 900, 2003)]
    assert w.seq.peek() == 4


def scenario_late_samples_keep_the_grid() -> None:
    # Sampled every 20 s: a reading up to 19 s late does not push the next one back.
    w = WaterLevelSensor(SENSOR, KEY, 1, batch=4)
    _steady(w, T0, 2000)
    out = []
    for i, late in enumerate((19, 5, 19, 0)):
        out += w.sample(T0 + 300 * (i + 1) + late, 2000, 90)
    (f,) = _decode(out)
    assert f.node_ts == T0 + 1200
    assert [r.node_ts for r in frames.split_batch(f)] == [T0 + 300, T0 + 600, T0 + 900, T0 + 1200]


def scenario_fast_rise_sends_pending_then_the_new_reading() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 1, batch=6)
    _steady(w, T0, 2000)
    assert w.sample(T0 + 300, 1990, 90) == []
    assert w.sample(T0 + 600, 1980, 90) == []
    assert w.sample(T0 + 900, 1970, 90) == []
    out = _decode(w.sample(T0 + 960, 1900, 90))  # 70 mm in a minute
    assert [f.kind for f in out] == ["water_level_batch", "water_level"]
    assert [r.seq for r in _readings([frames.encode(f, KEY) for f in out])] == [0, 1, 2, 3]
    assert (out[1].node_ts, out[1].payload.distance_mm) == (T0 + 960, 1900)
    assert w.next_sample_s(T0 + 960) == 60  # the water moves: look again in a minute
    one = _decode(w.sample(T0 + 1020, 1840, 90))
    assert w.sample(T0 + 1080, 1835, 90) == []  # 5 mm: calm again, back to the grid
    assert [f.seq for f in one] == [4]
    assert w.next_sample_s(T0 + 1080) == 240


def scenario_a_single_pending_reading_goes_as_a_single_frame() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 1, batch=6)
    _steady(w, T0, 2000)
    assert w.sample(T0 + 300, None, 10) == []
    out = _decode(w.sample(T0 + 360, 1900, 10))  # a rise after a failed echo
    assert [f.kind for f in out] == ["water_level", "water_level"]
    lost = frames.WL_SENSOR_FAULT | frames.WL_LOW_BATTERY
    assert (out[0].payload.distance_mm, out[0].payload.flags) == (frames.NO_READING, lost)
    assert out[1].payload.flags == frames.WL_LOW_BATTERY


def scenario_fault_inside_a_batch() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 1, batch=3)
    _steady(w, T0, 2000)
    out = []
    for i, mm in enumerate((2000, None, 70000)):
        out += w.sample(T0 + 300 * (i + 1), mm, 90)
    (f,) = _decode(out)
    assert f.payload.distances_mm == [2000, frames.NO_READING, frames.NO_READING]
    assert f.payload.flags == 0
    assert [r.payload.flags for r in frames.split_batch(f)] == [0, frames.WL_SENSOR_FAULT, frames.WL_SENSOR_FAULT]


def scenario_missed_slots_and_config_split_the_batch() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 1, batch=6)
    _steady(w, T0, 2000)
    assert w.sample(T0 + 300, 2000, 90) == []
    assert w.sample(T0 + 600, 2000, 90) == []
    out = _decode(w.sample(T0 + 1500, 2001, 90))  # asleep through two slots: the spacing broke
    assert [(f.kind, f.node_ts) for f in out] == [("water_level_batch", T0 + 600)]
    cfg = frames.encode(frames.Frame(SENSOR, 7, 2, T0, frames.Config(60)), KEY)
    assert w.on_downlink(cfg)
    out = _decode(w.sample(T0 + 1560, 2001, 90))  # the pending reading keeps its old spacing
    # Under 300 s no batching: the pending reading first, then the new one at once.
    assert [(f.kind, f.node_ts) for f in out] == [("water_level", T0 + 1500), ("water_level", T0 + 1560)]
    assert [f.kind for f in _decode(w.sample(T0 + 1620, 2001, 90))] == ["water_level"]
    assert w.due_s == T0 + 1680


def scenario_short_interval_sends_each_reading_at_once_then_calm_batches_again() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 1, batch=12)
    _steady(w, T0, 2000)
    assert w.batching() == 12
    for i in range(1, 4):
        assert w.sample(T0 + 300 * i, 2000 - i, 90) == []  # calm: three of twelve pending
    # Central's adaptive reporting (above BD1 or rising fast): a Config of 120 s.
    assert w.on_downlink(frames.encode(frames.Frame(SENSOR, 7, 2, T0, frames.Config(120)), KEY))
    assert w.batching() == 1
    out = _decode(w.sample(T0 + 1020, 1996, 90))  # what was pending goes first, the new reading at once
    assert [(f.kind, f.seq, f.node_ts) for f in out] == [("water_level_batch", 2, T0 + 900),
                                                         ("water_level", 3, T0 + 1020)]
    for i in range(1, 4):
        (f,) = _decode(w.sample(T0 + 1020 + 120 * i, 1996 - i, 90))  # each reading alone, every 120 s
        assert (f.kind, f.node_ts, f.payload.distance_mm) == ("water_level", T0 + 1020 + 120 * i, 1996 - i)
    assert w.on_downlink(frames.encode(frames.Frame(SENSOR, 7, 3, T0, frames.Config(299)), KEY))
    assert [f.kind for f in _decode(w.sample(T0 + 1679, 1993, 90))] == ["water_level"]  # 299 s: still at once
    assert w.on_downlink(frames.encode(frames.Frame(SENSOR, 7, 4, T0, frames.Config(300)), KEY))
    assert w.batching() == 12  # calm again: back to batches
    t = T0 + 1979
    out = []
    for i in range(12):
        out += w.sample(t + 300 * i, 1993, 90)
    assert [(f.kind, len(f.payload.distances_mm)) for f in _decode(out)] == [("water_level_batch", 12)]


def scenario_fast_rise_in_a_batch_of_twelve_sends_at_once() -> None:
    w = WaterLevelSensor(SENSOR, KEY, 1, batch=12)
    _steady(w, T0, 2000)
    for i in range(1, 6):
        assert w.sample(T0 + 300 * i, 2000, 90) == []
    out = _decode(w.sample(T0 + 1560, 1940, 90))  # 60 mm in a minute, five readings pending
    assert [(f.kind, f.node_ts) for f in out] == [("water_level_batch", T0 + 1500), ("water_level", T0 + 1560)]
    assert len(out[0].payload.distances_mm) == 5


def scenario_state_survives_deep_sleep_as_json() -> None:
    a = WaterLevelSensor(SENSOR, KEY, 5, batch=4)
    first = a.sample(T0, 2000, 90)
    assert a.sample(T0 + 300, 1999, 90) == []
    assert a.sample(T0 + 600, 1998, 90) == []
    saved = json.dumps(a.state())
    b = WaterLevelSensor(SENSOR, KEY, 5, batch=4)
    b.restore(json.loads(saved))
    assert b.next_sample_s(T0 + 610) == 290
    assert b.sample(T0 + 900, 1997, 90) == []
    out = b.sample(T0 + 1200, 1996, 90)
    assert [(r.seq, r.node_ts) for r in _readings(first + out)] == [
        (0, T0), (1, T0 + 300), (2, T0 + 600), (3, T0 + 900), (4, T0 + 1200)]
    assert b.status(T0 + 1200, 5, 0, 90)
    assert b.seq.peek() == 6


def scenarios() -> list:
    """Every scenario function, by name."""
    return mp_runner.scenarios(globals())


def main() -> int:
    """Run every scenario; print failures and ``N passed, N failed``."""
    return mp_runner.run(scenarios())


if __name__ == "__main__":
    sys.exit(main())
