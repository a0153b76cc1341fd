"""Provisioning the node fleet into a registry: ids, keys, kinds and where nodes stand."""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from protocol.registry import NodeRecord, NodeRegistry

SENSOR_ID_BASE = 0x0A000000
BUTTON_ID_BASE = 0x0B000000
KEY_LEN = 16


def new_key() -> bytes:
    """A fresh random node key, for real provisioning."""
    return secrets.token_bytes(KEY_LEN)


def derive_demo_key(secret: bytes, node_id: int) -> bytes:
    """A reproducible key for demos and tests only: anyone with ``secret`` can forge frames.

    Registries built from such keys are marked ``demo`` and refused outside the demo.
    """
    return hashlib.sha256(secret + node_id.to_bytes(4, "big")).digest()[:KEY_LEN]


@dataclass(frozen=True)
class StationSite:
    """Where a gauging station's sensors stand."""

    station_id: str
    ward: str
    lat: float
    lon: float


@dataclass(frozen=True)
class ButtonSite:
    """Where an SOS button is installed; ``lat``/``lon`` None when only its ward is known."""

    ward: str
    lat: float | None = None
    lon: float | None = None


def build_fleet(
    stations: Sequence[StationSite],
    buttons: Sequence[ButtonSite],
    sensors_per_station: int = 1,
    demo_secret: bytes | None = None,
) -> NodeRegistry:
    """A registry of water-level sensors at ``stations`` and SOS buttons at ``buttons``.

    With ``demo_secret`` keys are derived (reproducible) and the registry is marked ``demo`` (refused
    by central and gateways outside the demo); without, keys are random.
    """

    def key_for(node_id: int) -> bytes:
        return derive_demo_key(demo_secret, node_id) if demo_secret is not None else new_key()

    registry = NodeRegistry(demo=demo_secret is not None)
    n = 0
    for site in stations:
        for _ in range(sensors_per_station):
            n += 1
            nid = SENSOR_ID_BASE + n
            registry.add(NodeRecord(nid, "water_level", key_for(nid), site.ward, site.lat, site.lon, site.station_id))
    for i, button in enumerate(buttons, start=1):
        nid = BUTTON_ID_BASE + i
        registry.add(NodeRecord(nid, "sos_button", key_for(nid), button.ward, button.lat, button.lon))
    return registry
