"""The November 2023 flood at Kim Long (Sông Hương), shaped for replay through the flood rules.

Only the crest is on record: 4.34 m at 19:30 ICT on 15 Nov 2023 (VnExpress, via
``shared/data/hue_stations.json``). The rest of the hydrograph is SHAPED, not measured: a rise from
about 0.6 m over two days with its fastest stretch on the morning of the 15th (heavy rain and
reservoir releases upstream), the crest on record, and a slower recession over two days. Between the
anchors the level is linear, sampled every 15 minutes with a deterministic millimetre wobble so that
the series looks like a live ultrasonic gauge (and passes the flat-line test).
"""

import itertools
import math
from datetime import datetime, timedelta

from central.telemetry.alerts import ICT

PEAK_M = 4.34
PEAK_AT = datetime(2023, 11, 15, 19, 30, tzinfo=ICT)

ANCHORS: tuple[tuple[datetime, float], ...] = (
    (datetime(2023, 11, 13, 12, 0, tzinfo=ICT), 0.60),
    (datetime(2023, 11, 14, 6, 0, tzinfo=ICT), 0.80),
    (datetime(2023, 11, 14, 18, 0, tzinfo=ICT), 1.40),
    (datetime(2023, 11, 15, 6, 0, tzinfo=ICT), 2.30),
    (datetime(2023, 11, 15, 10, 0, tzinfo=ICT), 3.70),  # 0.35 m/h: the fast rise
    (PEAK_AT, PEAK_M),
    (datetime(2023, 11, 16, 6, 0, tzinfo=ICT), 3.50),
    (datetime(2023, 11, 16, 18, 0, tzinfo=ICT), 2.20),
    (datetime(2023, 11, 17, 6, 0, tzinfo=ICT), 1.40),
    (datetime(2023, 11, 17, 18, 0, tzinfo=ICT), 0.85),
    (datetime(2023, 11, 18, 6, 0, tzinfo=ICT), 0.70),
)


def level_at(moment: datetime) -> float:
    """The shaped level (m above gauge zero) at a moment within the anchors."""
    for (t0, v0), (t1, v1) in itertools.pairwise(ANCHORS):
        if t0 <= moment <= t1:
            return v0 + (v1 - v0) * (moment - t0) / (t1 - t0)
    raise ValueError(f"{moment} is outside the Nov 2023 replay")


def series(step: timedelta = timedelta(minutes=15)) -> list[tuple[datetime, float]]:
    """(time, level in m, to the millimetre) from the first anchor to the last."""
    out = []
    start, end = ANCHORS[0][0], ANCHORS[-1][0]
    i = 0
    while start + i * step <= end:
        moment = start + i * step
        wobble = 0.0 if moment == PEAK_AT else 0.002 * math.sin(i * 1.7)  # the crest stays exact
        out.append((moment, round(level_at(moment) + wobble, 3)))
        i += 1
    return out
