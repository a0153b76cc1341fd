"""The node registry file: which node is what, where, and with which key.

``edge_nodes`` writes it when nodes are provisioned; gateways read it to verify frames and central
reads it to verify, locate and interpret them. It is JSON, one object per node::

    {"nodes": [{"node_id": "0a000001", "kind": "water_level", "key": "<32 hex>", "ward": "19774",
                "lat": 16.4166, "lon": 107.5667, "station_id": "kim_long"}]}
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

NodeKind = Literal["water_level", "sos_button", "official_radio"]
_KINDS = ("water_level", "sos_button", "official_radio")


class RegistryError(ValueError):
    """A registry file that cannot be trusted."""


@dataclass(frozen=True)
class NodeRecord:
    """One provisioned node."""

    node_id: int
    kind: NodeKind
    key: bytes
    ward: str
    lat: float | None = None
    lon: float | None = None
    station_id: str | None = None

    def to_json(self) -> dict[str, object]:
        """The record as stored in the registry file."""
        return {
            "node_id": f"{self.node_id:08x}",
            "kind": self.kind,
            "key": self.key.hex(),
            "ward": self.ward,
            "lat": self.lat,
            "lon": self.lon,
            "station_id": self.station_id,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> "NodeRecord":
        """Parse one stored record; raises RegistryError with the reason."""
        try:
            node_id = int(str(raw["node_id"]), 16)
            kind = str(raw["kind"])
            key = bytes.fromhex(str(raw["key"]))
            ward = str(raw["ward"])
        except (KeyError, ValueError) as exc:
            raise RegistryError(f"bad node record {raw!r}: {exc}") from exc
        if kind not in _KINDS:
            raise RegistryError(f"node {node_id:08x}: unknown kind {kind!r}")
        if len(key) < 16:
            raise RegistryError(f"node {node_id:08x}: key shorter than 16 bytes")
        lat, lon = raw.get("lat"), raw.get("lon")
        station = raw.get("station_id")
        return cls(
            node_id=node_id,
            kind=kind,  # type: ignore[arg-type]
            key=key,
            ward=ward,
            lat=float(lat) if isinstance(lat, int | float) else None,
            lon=float(lon) if isinstance(lon, int | float) else None,
            station_id=str(station) if station is not None else None,
        )


class NodeRegistry:
    """Nodes by id; lookups are dict-fast because every frame does one."""

    def __init__(self, records: Iterable[NodeRecord] = ()) -> None:
        self._by_id: dict[int, NodeRecord] = {}
        for rec in records:
            self.add(rec)

    def add(self, record: NodeRecord) -> None:
        """Add or replace a node."""
        self._by_id[record.node_id] = record

    def get(self, node_id: int) -> NodeRecord | None:
        """The node with this id, or None if it was never provisioned."""
        return self._by_id.get(node_id)

    def __iter__(self) -> Iterator[NodeRecord]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def in_ward(self, ward: str) -> list[NodeRecord]:
        """Nodes registered in one ward."""
        return [r for r in self._by_id.values() if r.ward == ward]

    def save(self, path: Path) -> None:
        """Write the registry atomically (a half-written key file would lock nodes out)."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps({"nodes": [r.to_json() for r in self]}, indent=1))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "NodeRegistry":
        """Read a registry file; raises RegistryError if it is malformed."""
        try:
            doc = json.loads(path.read_text())
            raw_nodes = doc["nodes"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RegistryError(f"cannot read node registry {path}: {exc}") from exc
        return cls(NodeRecord.from_json(raw) for raw in raw_nodes)
