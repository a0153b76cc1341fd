"""A deliberate crash of central at a chosen point of its ingest, for the fault campaign only.

The promise under test is that an app ack always names a durable uplink, and that a crash on either
side of the acknowledgement loses nothing and duplicates nothing. Killing the process from outside
hits those two instants only by luck; this hook hits them every time. It is off unless the setting
``fault_injection_crash_at`` names a point (``FLOODMESH_FAULT_INJECTION_CRASH_AT``): no deployment
sets it, and central logs loudly at start when it is on.
"""

import logging
import os
from typing import Literal

log = logging.getLogger(__name__)

CrashPoint = Literal["off", "after_commit", "after_publish"]
CRASH_EXIT_CODE = 137  # what a kill -9 leaves behind, so supervisors treat it the same


class CrashAt:
    """Ends the process (no cleanup, like a power cut) when its point is reached in the ``batch``-th batch."""

    def __init__(self, point: CrashPoint, batch: int) -> None:
        self.point = point
        self.batch = batch
        self._seen = 0

    def reached(self, point: CrashPoint) -> None:
        """Called by the ingest worker at each crash point of every batch."""
        if point != self.point:
            return
        self._seen += 1
        if self._seen >= self.batch:
            log.critical("fault injection: central crashes %s of batch %d (fault_injection_crash_at)",
                         point.replace("_", " "), self._seen)
            logging.shutdown()
            os._exit(CRASH_EXIT_CODE)


def crash_hook(point: CrashPoint, batch: int) -> CrashAt | None:
    """The hook for the settings, or None when fault injection is off (the default)."""
    if point == "off":
        return None
    log.warning("FAULT INJECTION ON: central will crash %s of batch %d; never set "
                "fault_injection_crash_at outside a fault campaign", point.replace("_", " "), batch)
    return CrashAt(point, batch)
