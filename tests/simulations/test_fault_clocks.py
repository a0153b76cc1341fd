"""Clocks that jump. What central makes of readings whose node or gateway clock went back or ahead:
no alert is decided on a time that went back, and the crossing is still raised once time moves on
(in process, on central's own level ingest). And the campaign's clock_skew: a real process whose wall
clock jumps when told, its monotonic clock untouched."""

import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.ingest.levels import LevelIngest
from central.telemetry.stations import load_stations
from protocol import frames

pytestmark = pytest.mark.unit

STATION = load_stations(Path(__file__).parents[2] / "central" / "data" / "stations.json")["kim_long"]
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
STEP_S = 300  # a sensor reports every five minutes
READINGS = 24  # two hours; the river reaches BD1 (1.0 m) at reading 12
NODE, BOOT = 0x0A000001, 1


@dataclass(frozen=True)
class Ruled:
    """A reading the flood rules ran on: the time they took for it, and the alerts it decided."""

    at: float
    alerts: list[str]


def _feed(node_skew_s: dict[int, int], gateway_skew_s: dict[int, int]) -> list[Ruled]:
    """A river rising 0.20 m/h through BD1 (slow enough to pass every quality test). Reading i's node
    clock is off by ``node_skew_s[i]``, the gateway's by ``gateway_skew_s[i]``."""
    ingest = LevelIngest({STATION.id: STATION})
    ruled: list[Ruled] = []
    for i in range(READINGS):
        now = START + timedelta(seconds=i * STEP_S)
        level = 0.80 + 0.20 * i * STEP_S / 3600
        node_ts = int(now.timestamp()) + node_skew_s.get(i, 0)
        heard = now + timedelta(seconds=gateway_skew_s.get(i, 0))
        distance_mm = round((STATION.datum_m - level) * 1000)
        out = ingest.reading(NODE, BOOT, i, node_ts, heard, STATION.id, frames.WaterLevel(distance_mm, 90))
        if out.rules_ran:
            assert out.reading.level_at is not None
            ruled.append(Ruled(datetime.fromisoformat(out.reading.level_at).timestamp(),
                               [f"{a.kind} {a.level}" for a in out.alerts]))
    return ruled


def _assert_no_alert_on_a_time_gone_back(ruled: list[Ruled]) -> None:
    latest = float("-inf")
    for r in ruled:
        if r.alerts:
            assert r.at > latest, f"{r.alerts} decided at {r.at}, not after {latest} the rules had already seen"
        latest = max(latest, r.at)


# Reading i -> seconds off, around the crossing (readings 11-14). The gateway's clock reaches the rules
# only through the plausibility test of the node's time (at most 5 min ahead of when it was heard).
JUMPS = {
    "node clock 5 min back at the crossing": ({i: -300 for i in range(11, 15)}, {}),
    "node clock 15 min back at the crossing": ({i: -900 for i in range(11, 15)}, {}),
    "node clock 5 min ahead, then right again": ({11: 300, 12: 300}, {}),
    "gateway clock 5 min back": ({}, {i: -300 for i in range(11, 15)}),
    "gateway clock 15 min back": ({}, {i: -900 for i in range(11, 15)}),
    "gateway clock 15 min ahead, then right again": ({}, {11: 900, 12: 900}),
    "both back 5 min, the node's first": ({i: -300 for i in range(11, 15)}, {i: -300 for i in range(12, 16)}),
}


@pytest.mark.parametrize(("node_skew", "gateway_skew"), JUMPS.values(), ids=JUMPS.keys())
def test_no_alert_is_decided_on_a_time_that_went_back_and_bd1_is_still_raised(
    node_skew: dict[int, int], gateway_skew: dict[int, int]
) -> None:
    ruled = _feed(node_skew, gateway_skew)
    _assert_no_alert_on_a_time_gone_back(ruled)
    assert [a for r in ruled for a in r.alerts] == ["level_raised BD1"]


def test_steady_clocks_raise_bd1_at_the_confirming_reading() -> None:
    # The baseline the jumps are judged against: two readings at or above 1.0 m confirm BD1.
    ruled = _feed({}, {})
    raised = [r for r in ruled if r.alerts]
    assert [r.alerts for r in raised] == [["level_raised BD1"]]
    assert raised[0].at == (START + timedelta(seconds=13 * STEP_S)).timestamp()


def test_clock_skew_moves_a_processs_wall_clock_and_leaves_its_monotonic_clock(tmp_path: Path) -> None:
    offset = tmp_path / "offset"
    offset.write_text("0")
    probe = ("import sys, time\n"
             "for line in sys.stdin:\n"
             "    print(time.time(), time.monotonic(), flush=True)\n")
    # clock_skew runs `floodmesh ARGS`; here the probe stands in for floodmesh's entry point.
    script = ("import runpy, sys\n"
              "import floodmesh.cli\n"
              f"floodmesh.cli.main = lambda argv: exec({probe!r}) or 0\n"
              "sys.argv = ['clock_skew', *sys.argv[1:]]\n"
              "runpy.run_module('simulations.faults.clock_skew', run_name='__main__')\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(offset), "probe"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        def sample() -> tuple[float, float]:
            proc.stdin.write("\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            wall, mono = proc.stdout.readline().split()  # type: ignore[union-attr]
            return float(wall), float(mono)

        wall0, mono0 = sample()
        offset.write_text("-900")
        wall1, mono1 = sample()
        while wall1 > wall0 - 800 and mono1 - mono0 < 10:  # the file is read every 50 ms: until it shows
            wall1, mono1 = sample()
        assert wall1 - wall0 == pytest.approx(-900 + (mono1 - mono0), abs=1.0)
        assert mono1 >= mono0
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
        proc.stdout.close()
