"""Alert events as the outside world sees them: the stored record, the MQTT message, the mesh text.

Every affected ward gets the event on its ``protocol.topics.alerts`` topic; the ``text`` field is
the short message the ward's gateway is to broadcast on the mesh (Meshtastic text, at most
``MESH_TEXT_MAX`` bytes of UTF-8).
"""

import json
from datetime import UTC, datetime, timedelta, timezone

from central.store.records import StoredAlert
from central.telemetry.rules import AlertEvent
from central.telemetry.stations import Station
from protocol import topics

ICT = timezone(timedelta(hours=7), "ICT")
MESH_TEXT_MAX = 200


def alerts_topic(ward: str) -> str:
    """Topic of the flood alerts for one ward."""
    return topics.alerts(ward)


def _hours(seconds: float) -> str:
    h, m = divmod(round(seconds / 60), 60)
    return f"{h}h{m:02d}" if h else f"{m}min"


def mesh_text(station: Station, ev: AlertEvent) -> str:
    """The short broadcast: station, level, trend, ETA to the next level; local time (ICT)."""
    when = datetime.fromtimestamp(ev.at, ICT).strftime("%d/%m %H:%M")
    what = {
        "level_raised": f"VUOT {ev.level}",
        "level_cleared": f"DUOI {ev.level}",
        "rising_fast": "LU LEN NHANH",
        "rising_eased": "HET LEN NHANH",
    }[ev.kind]
    parts = [f"{station.name}: {what}", f"{ev.level_m:.2f}m", when]
    if ev.rate_m_per_h is not None:
        parts.append(f"{ev.rate_m_per_h:+.2f}m/h")
    if ev.next_level is not None and ev.eta_next_s is not None:
        parts.append(f"{ev.next_level} ~{_hours(ev.eta_next_s)}")
    text = " | ".join(parts)
    return text.encode("utf-8")[:MESH_TEXT_MAX].decode("utf-8", "ignore")


def alert_json(alert: StoredAlert) -> str:
    """The MQTT payload of one alert."""
    return json.dumps(
        {
            "v": 1,
            "id": alert.id,
            "station": alert.station_id,
            "station_name": alert.station_name,
            "kind": alert.kind,
            "level": alert.level,
            "level_m": alert.level_m,
            "rate_m_per_h": alert.rate_m_per_h,
            "eta_next_s": alert.eta_next_s,
            "next_level": alert.next_level,
            "at": alert.at,
            "wards": list(alert.wards),
            "text": alert.text,
        },
        ensure_ascii=False,
    )


def iso_utc(t: float) -> str:
    """Unix seconds as the stored ISO form (UTC, milliseconds)."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
