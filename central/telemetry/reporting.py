"""Adaptive reporting: how often a station's sensors should report, from the station's flood state."""

from dataclasses import dataclass

from central.telemetry.rules import StationState


@dataclass(frozen=True)
class ReportingPolicy:
    """Calm: the firmware's default interval. Above BĐ1 or rising fast: report more often."""

    calm_interval_s: int = 300
    alert_interval_s: int = 60

    def interval_s(self, state: StationState) -> int:
        """The report interval the station's state asks for."""
        return self.alert_interval_s if state.rank >= 1 or state.rising_fast else self.calm_interval_s

    def downlink_needed(self, state: StationState, told: int | None) -> int | None:
        """The interval to send a sensor that was last told ``told`` (None: it runs its default)."""
        want = self.interval_s(state)
        current = self.calm_interval_s if told is None else told
        return None if want == current else want
