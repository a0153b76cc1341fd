"""The run's figures against the issue's goals, from the timeline, the mesh, the ledger and central.

Pure: central's holdings come in as plain rows (read by the runner's caller). Simulated time is the
mesh's (seconds into the window); time spent inside the real processes is counted 1:1 (see
``time_scale``): a local ACK's time is the gateway's real answer time plus the model's downlink.
"""

from collections import Counter
from dataclasses import dataclass, field

from simulations.hue2023.airwaves import WardAir, sos_ref
from simulations.hue2023.ledger import (
    IncidentFate,
    ScenarioLedger,
    accountability_differences,
    central_accountability,
    expected_accountability,
)
from simulations.hue2023.timeline import STATION_OF_WARD, Timeline, crossings

LOCAL_ACK_GOAL_S = 30.0
GATEWAY_PROCESSING_MODEL_S = 0.5  # what the mesh model assumed the gateway takes to ACK (FloodmeshBehaviour)


@dataclass(frozen=True)
class CentralHoldings:
    """What central holds at the end: cases, SOS events with their case, alerts, accountability rows."""

    cases: list[tuple[int, int, int, str, str]]  # case_number, node_id, seq, ward, state
    sos_events: list[tuple[int, int, int | None]]  # node_id, seq, case_number
    alerts: list[tuple[str, str, float]]  # station, level, unix time of the reading that decided it
    accountability: list[dict[str, object]]
    rejections: dict[str, int] = field(default_factory=dict)  # central's refusals by reason


@dataclass
class IncidentView:
    """One incident through the whole chain."""

    ward: str
    node_id: int
    first_s: float
    isolated: bool
    heard_s: float | None = None
    hops: int | None = None
    button_acked_s: float | None = None  # press -> the button's LED, simulated s
    local_ack_s: float | None = None  # gateway reception -> the gateway's own ACK on the air, when cut off
    local_ack_at_button_s: float | None = None  # ... -> the ACK decoded at the button (the mesh's downlink too)
    central_cases: set[int] = field(default_factory=set)
    local_acked: bool = False
    covered: bool = True  # the button has a path to the gateway within the hop limit (mesh idle)


def incident_views(timeline: Timeline, airs: dict[str, WardAir], ledger: ScenarioLedger,
                   button_ids: dict[tuple[str, int], int], held: CentralHoldings) -> list[IncidentView]:
    """Each incident: when the gateway first heard it, the button's ACK, central's cases for it."""
    cases_of: dict[tuple[int, int], int | None] = {(n, s): c for n, s, c in held.sos_events}
    views = []
    for incident in timeline.incidents:
        air, node = airs[incident.ward], button_ids[(incident.ward, incident.button)]
        view = IncidentView(incident.ward, node, incident.first_s, timeline.isolated(incident.ward, incident.first_s),
                            covered=incident.button in air.covered_buttons)
        sos_presses = [k for k, p in enumerate(incident.presses) if not p.cancel]
        firsts = [h for k in sos_presses if (h := air.first_heard(sos_ref(incident.ward, incident.button, k)))]
        if firsts:
            first = min(firsts, key=lambda h: h.at_s)
            view.heard_s, view.hops = first.at_s - incident.first_s, first.hops
        refs = [sos_ref(incident.ward, incident.button, k) for k in sos_presses]
        acked = [air.acked_s[r] for r in refs if r in air.acked_s]
        real_acks = [a for k in sos_presses if (a := ledger.first_ack(node, k)) is not None]
        if acked and real_acks:
            view.button_acked_s = min(acked) - incident.first_s
        for k in sos_presses:
            case = cases_of.get((node, k))
            if case is not None:
                view.central_cases.add(case)
            local = ledger.first_ack(node, k, local=True)
            played = ledger.injected.get((node, k))
            ref = sos_ref(incident.ward, incident.button, k)
            heard = air.first_heard(ref)
            if local is not None and played is not None and heard is not None and view.local_ack_s is None:
                view.local_acked = True
                view.local_ack_s = local.real_t - played  # the gateway's own time, counted 1:1
                if ref in air.acked_s:  # the model's downlink (a lost ACK waits for the button's resend)
                    view.local_ack_at_button_s = view.local_ack_s + max(
                        0.0, air.acked_s[ref] - heard.at_s - GATEWAY_PROCESSING_MODEL_S)
        views.append(view)
    return views


def incident_fates(timeline: Timeline, airs: dict[str, WardAir],
                   button_ids: dict[tuple[str, int], int]) -> list[IncidentFate]:
    """Whether each incident's SOS, and its cancel, reached the ward's gateway."""
    out = []
    for incident in timeline.incidents:
        air = airs[incident.ward]
        delivered = cancel = False
        for k, press in enumerate(incident.presses):
            if air.first_heard(sos_ref(incident.ward, incident.button, k)) is not None:
                cancel = cancel or press.cancel
                delivered = delivered or not press.cancel
        out.append(IncidentFate(incident.ward, button_ids[(incident.ward, incident.button)], delivered,
                                cancel and delivered))
    return out


def alert_lags(timeline: Timeline, held: CentralHoldings, sim_epoch: float) -> dict[str, float | None]:
    """Per station and level: the decided alert's reading time minus the hydrograph's crossing (s)."""
    out: dict[str, float | None] = {}
    for station in sorted({STATION_OF_WARD[w] for w in timeline.config.wards}):
        for level, crossed in crossings(timeline.config, station).items():
            times = [at - sim_epoch for s, lv, at in held.alerts if s == station and lv == level]
            later = [t for t in times if t >= crossed - 1.0]
            out[f"{station}:{level}"] = round(min(later) - crossed, 1) if later else None
    return out


def summarise(timeline: Timeline, airs: dict[str, WardAir], ledger: ScenarioLedger,
              button_ids: dict[tuple[str, int], int], held: CentralHoldings, sim_epoch: float,
              views: list[IncidentView]) -> dict[str, object]:
    """The JSON summary: every goal of the issue, and the figures behind them."""
    cfg = timeline.config
    n = len(views)
    delivered = [v for v in views if v.heard_s is not None]
    to_central = [v for v in delivered if v.central_cases]
    isolated_heard = [v for v in delivered if v.isolated]
    local_in_time = [v for v in isolated_heard if v.local_ack_s is not None and v.local_ack_s <= LOCAL_ACK_GOAL_S]
    at_button = [v for v in isolated_heard
                 if v.local_ack_at_button_s is not None and v.local_ack_at_button_s <= LOCAL_ACK_GOAL_S]
    per_case = Counter(case for v in views for case in v.central_cases)
    per_incident_cases = [len(v.central_cases) for v in delivered]
    local_acked = [v for v in views if v.local_acked]
    expected = expected_accountability(incident_fates(timeline, airs, button_ids), ledger)
    central = central_accountability(held.accountability)
    differences = accountability_differences(expected, central)
    lags = alert_lags(timeline, held, sim_epoch)
    present = [lag for lag in lags.values() if lag is not None]
    covered = sum(a.covered_buttons_ratio for a in airs.values()) / max(1, len(airs))
    return {
        "scenario": {"hours": cfg.hours, "sos": cfg.sos, "seed": cfg.seed, "wards": len(cfg.wards),
                     "presses": sum(len(i.presses) for i in timeline.incidents),
                     "cancels": sum(1 for i in timeline.incidents if i.cancelled_at is not None),
                     "power_losses": len(timeline.power_losses), "extra_loss_per_hop": 0.25,
                     "reliable_retries": 3},
        "sos_delivered_ratio": round(len(delivered) / max(1, n), 4),
        "sos_delivered_ratio_covered_buttons": round(len([v for v in delivered if v.covered])
                                                      / max(1, len([v for v in views if v.covered])), 4),
        "covered_buttons_ratio": round(covered, 4),
        "relays": sum(a.relays for a in airs.values()),
        "relays_for_coverage": sum(a.relays_for_coverage for a in airs.values()),
        "sos_to_central_ratio": round(len(to_central) / max(1, n), 4),
        "sos_to_central_of_delivered": round(len(to_central) / max(1, len(delivered)), 4),
        "local_ack_30s_ratio": round(len(local_in_time) / max(1, len(isolated_heard)), 4),
        "local_ack_max_s": round(max((v.local_ack_s for v in isolated_heard if v.local_ack_s is not None),
                                     default=0.0), 2),
        "local_ack_at_button_30s_ratio": round(len(at_button) / max(1, len(isolated_heard)), 4),
        "local_ack_at_button_max_s": round(max((v.local_ack_at_button_s for v in isolated_heard
                                                if v.local_ack_at_button_s is not None), default=0.0), 1),
        "isolated_sos_heard": len(isolated_heard),
        "duplicate_cases": sum(max(0, c - 1) for c in per_incident_cases),
        "cases_shared_by_incidents": sum(1 for c in per_case.values() if c > 1),
        "presses_withheld_after_rescue": len(ledger.withheld_after_rescue),
        "merged_after_reconnect_ratio": round(sum(1 for v in local_acked if v.central_cases)
                                              / max(1, len(local_acked)), 4),
        "local_cases": len(local_acked),
        "accountability_matches": not differences,
        "accountability_differences": differences[:20],
        "alert_lag_s": lags,
        "alert_lag_max_s": max(present) if present else None,
        "reporting_interval_s": cfg.reading_every_s,
        "channel_util_max": {w: round(max((u for _, u in a.channel_util), default=0.0), 3) for w, a in airs.items()},
        "collision_rate": {w: round(a.collision_rate, 3) for w, a in airs.items()},
        "rejected_by_central": held.rejections,
        "officer_commands": ledger.officer_commands,
        "button_acks_on_air": len(ledger.acks),
    }

