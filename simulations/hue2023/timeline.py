"""What happens when in the scenario: rivers, backhaul cuts, SOS incidents, officials, power loss.

Pure and seeded: the same ``ScenarioConfig`` gives the same timeline. Times are seconds from the start
of the simulated window (``t = 0`` is ``window_start``). The Kim Long curve is the shaped Nov 2023
hydrograph (``central.telemetry.nov2023``, crest 4.34 m at 19:30 on the 15th); Phú Ốc is the same shape
scaled to its recorded crest (5.0 m at 17:00, ``shared/data/hue_stations.json``) and moved to its hour.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from central.telemetry import nov2023

KIM_LONG_WARDS = ("19813", "19774", "19753", "19789", "19777")  # Kim Long's station ward and downstream
PHU_OC_WARDS = ("19996", "20017", "19804", "19867")  # Phú Ốc's station ward and downstream
PHU_OC_CREST_M = 5.0
PHU_OC_CREST_AT = datetime(2023, 11, 15, 17, 0, tzinfo=nov2023.PEAK_AT.tzinfo)
ALERT_LEVELS_M: dict[str, dict[str, float]] = {
    "kim_long": {"BD1": 1.0, "BD2": 2.0, "BD3": 3.5},
    "phu_oc": {"BD1": 1.5, "BD2": 3.0, "BD3": 4.5},
}
STATION_OF_WARD: dict[str, str] = {w: "kim_long" for w in KIM_LONG_WARDS} | {w: "phu_oc" for w in PHU_OC_WARDS}


@dataclass(frozen=True)
class ScenarioConfig:
    """What the scenario is: its length, how many SOS, which wards, and its seed."""

    hours: float = 72.0
    sos: int = 700
    seed: int = 7
    wards: tuple[str, ...] = KIM_LONG_WARDS + PHU_OC_WARDS
    reading_every_s: float = 300.0  # the sensors' calm interval (central.telemetry.reporting)
    sensors_per_station: int = 2
    repeat_share: float = 0.3  # residents who press again when no one has come
    cancel_share: float = 0.05  # false alarms withdrawn a minute or two later
    power_loss_share: float = 0.05  # buttons whose battery or house power is gone mid-flood

    def __post_init__(self) -> None:
        if not 0 < self.hours <= 110:
            raise ValueError(f"hours must be in (0, 110] (the Nov 2023 replay spans 114 h), got {self.hours}")
        if self.sos < 1:
            raise ValueError(f"sos must be at least 1, got {self.sos}")
        unknown = [w for w in self.wards if w not in STATION_OF_WARD]
        if unknown:
            raise ValueError(f"wards {unknown} have no hydrograph; use some of {sorted(STATION_OF_WARD)}")

    @property
    def duration_s(self) -> float:
        """The simulated window's length."""
        return self.hours * 3600.0

    @property
    def window_start(self) -> datetime:
        """The moment of 2023 ``t = 0`` stands for: the crest 60 % into the window, within the replay."""
        start = nov2023.PEAK_AT - timedelta(seconds=0.6 * self.duration_s)
        return max(start, nov2023.ANCHORS[0][0])


def river_level_m(station: str, moment: datetime) -> float:
    """The 2023 level at ``station`` (m above gauge zero) at ``moment``."""
    first, last = nov2023.ANCHORS[0][0], nov2023.ANCHORS[-1][0]
    if station == "kim_long":
        return nov2023.level_at(min(max(moment, first), last))
    if station == "phu_oc":
        shifted = moment + (nov2023.PEAK_AT - PHU_OC_CREST_AT)
        return nov2023.level_at(min(max(shifted, first), last)) * PHU_OC_CREST_M / nov2023.PEAK_M
    raise ValueError(f"unknown station {station!r}; use kim_long or phu_oc")


def level_at_t(config: ScenarioConfig, station: str, t: float) -> float:
    """The level at ``station`` ``t`` seconds into the window."""
    return river_level_m(station, config.window_start + timedelta(seconds=t))


def crossings(config: ScenarioConfig, station: str, step_s: float = 60.0) -> dict[str, float]:
    """First time (s into the window) the river is at or above each alert level (absent: never)."""
    out: dict[str, float] = {}
    t = 0.0
    while t <= config.duration_s:
        level = level_at_t(config, station, t)
        for name, threshold in ALERT_LEVELS_M[station].items():
            if name not in out and level >= threshold:
                out[name] = t
        t += step_s
    return out


@dataclass(frozen=True)
class BackhaulCut:
    """A ward's backhaul is down from ``cut_s`` until ``restore_s``."""

    ward: str
    cut_s: float
    restore_s: float

    def isolated_at(self, t: float) -> bool:
        """Whether the ward is cut off at ``t``."""
        return self.cut_s <= t < self.restore_s


def backhaul_cuts(config: ScenarioConfig) -> list[BackhaulCut]:
    """Ward by ward from 5 % to 20 % of the window, then the whole province until 90 % (most of it)."""
    n = len(config.wards)
    rng = random.Random(f"hue2023-cuts:{config.seed}")
    order = list(config.wards)
    rng.shuffle(order)
    d = config.duration_s
    return [BackhaulCut(w, d * (0.05 + 0.15 * i / n), d * 0.9) for i, w in enumerate(order)]


@dataclass(frozen=True)
class Press:
    """One press of a button: an SOS (``cancel=False``) or the withdrawal of the last one."""

    t: float
    cancel: bool = False


@dataclass(frozen=True)
class Incident:
    """A household's emergency: its ward, the index of its button there, and the presses it made."""

    ward: str
    button: int
    kind: int
    people: int
    vulnerable: int
    presses: tuple[Press, ...]

    @property
    def first_s(self) -> float:
        """When the first SOS was pressed."""
        return self.presses[0].t

    @property
    def cancelled_at(self) -> float | None:
        """When the resident withdrew the SOS (None: never)."""
        return next((p.t for p in self.presses if p.cancel), None)


def pressed_after_rescue(incident: Incident, k: int, rescued_s: float | None) -> bool:
    """Whether press ``k`` is a repeat the resident would not make: the ward confirmed the case resolved
    (``rescued_s``, s into the window) before it. A repeated press is "no one has come yet"
    (``ScenarioConfig.repeat_share``), drawn ahead of the run, blind to when the officer's team arrives;
    the replay does not make such a press (its copies stay in the mesh's airtime, which only makes the
    channel busier than it was). Cancels and first presses are always made."""
    press = incident.presses[k]
    return not press.cancel and k > 0 and rescued_s is not None and press.t >= rescued_s


def _press_weight(config: ScenarioConfig, ward: str, t: float) -> float:
    """Calls come as the water rises above BĐ1 at the ward's station, and most near the crest."""
    station = STATION_OF_WARD[ward]
    above = level_at_t(config, station, t) - ALERT_LEVELS_M[station]["BD1"]
    return max(0.05, above)


def incidents(config: ScenarioConfig) -> list[Incident]:
    """``config.sos`` incidents over the wards, timed by the flood, each on a button of its own."""
    rng = random.Random(f"hue2023-sos:{config.seed}")
    slots = [(w, t) for w in config.wards for t in _grid(config)]
    weights = [_press_weight(config, w, t) for w, t in slots]
    picks = rng.choices(slots, weights=weights, k=config.sos)
    next_button: dict[str, int] = {}
    out: list[Incident] = []
    step = config.duration_s / len(_grid(config))
    for ward, t0 in sorted(picks):
        t = min(config.duration_s * 0.97, t0 + rng.uniform(0, step))
        presses = [Press(t)]
        if rng.random() < config.cancel_share:
            presses.append(Press(t + rng.uniform(60, 180), cancel=True))
        elif rng.random() < config.repeat_share:
            for _ in range(rng.randint(1, 3)):  # no one came yet: pressed again some minutes later
                presses.append(Press(presses[-1].t + rng.uniform(300, 1800)))
        button = next_button.get(ward, 0)
        next_button[ward] = button + 1
        out.append(Incident(ward, button, rng.randrange(5), rng.randint(1, 8),
                            rng.choice((0, 0, 1, 2, 4, 8, 6)), tuple(presses)))
    return sorted(out, key=lambda i: i.first_s)


def _grid(config: ScenarioConfig) -> list[float]:
    n = max(1, math.ceil(config.duration_s / 900.0))
    return [i * config.duration_s / n for i in range(n)]


@dataclass(frozen=True)
class PowerLoss:
    """A radio that goes dark at ``at_s`` (flooded house, flat battery): it neither sends nor relays."""

    ward: str
    button: int
    at_s: float


@dataclass(frozen=True)
class Timeline:
    """The whole scenario: config, cuts, incidents, power losses, buttons per ward."""

    config: ScenarioConfig
    cuts: list[BackhaulCut]
    incidents: list[Incident]
    power_losses: list[PowerLoss]
    buttons_per_ward: dict[str, int] = field(default_factory=dict)

    def cut_of(self, ward: str) -> BackhaulCut | None:
        """The cut of ``ward`` (None: never cut)."""
        return next((c for c in self.cuts if c.ward == ward), None)

    def isolated(self, ward: str, t: float) -> bool:
        """Whether ``ward`` is cut off at ``t``."""
        cut = self.cut_of(ward)
        return cut is not None and cut.isolated_at(t)


def build_timeline(config: ScenarioConfig) -> Timeline:
    """The seeded scenario: incidents on their own buttons, plus idle homes (a fifth more) that relay and
    some of which lose power during the flood (never one that is still to call for help)."""
    found = incidents(config)
    rng = random.Random(f"hue2023-power:{config.seed}")
    buttons: dict[str, int] = {}
    losses: list[PowerLoss] = []
    for ward in config.wards:
        busy = sum(1 for i in found if i.ward == ward)
        idle = max(4, math.ceil(busy * 0.2))
        buttons[ward] = busy + idle
        for b in range(busy, busy + idle):
            if rng.random() < config.power_loss_share * 4:
                losses.append(PowerLoss(ward, b, rng.uniform(0.2, 0.8) * config.duration_s))
    return Timeline(config, backhaul_cuts(config), found, losses, buttons)
