"""The node registry file: which node is what, where, and with which key.

``edge_nodes`` writes it when nodes are provisioned; gateways read it to verify frames and central
reads it to verify, locate and interpret them. It is JSON, one object per node::

    {"demo": false,
     "nodes": [{"node_id": "0a000001", "kind": "water_level", "key": "<32 hex>", "ward": "19774",
                "lat": 16.4166, "lon": 107.5667, "station_id": "kim_long"}]}

``demo`` marks a registry of throwaway keys (``floodmesh demo``, tests): central and gateways refuse it
unless told they run inside the demo (``require_real_keys``). The file holds keys: it is written 0600
and atomically, and refused when other users can read it (protocol/secret_file.py).
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from protocol.secret_file import ExposedSecretFile, require_private, write_private

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
    """Nodes by id; lookups are dict-fast because every frame does one. ``demo``: throwaway keys."""

    def __init__(self, records: Iterable[NodeRecord] = (), *, demo: bool = False) -> None:
        self.demo = demo
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

    def only_ward(self, ward: str) -> "NodeRegistry":
        """A registry of this ward's nodes alone (what its gateway holds), demo marker kept."""
        return NodeRegistry(self.in_ward(ward), demo=self.demo)

    def wards(self) -> set[str]:
        """Every ward with a node in this registry."""
        return {r.ward for r in self._by_id.values()}

    def save(self, path: Path) -> None:
        """Write the registry atomically, mode 0600 and fsynced (a half-written key file would lock nodes out)."""
        doc = {"demo": self.demo, "nodes": [r.to_json() for r in self]}
        write_private(path, json.dumps(doc, indent=1))

    @classmethod
    def load(cls, path: Path) -> "NodeRegistry":
        """Read a registry file; raises RegistryError if it is malformed or other users can read it."""
        try:
            require_private(path)
            doc = json.loads(path.read_text())
            raw_nodes = doc["nodes"]
            demo = doc.get("demo", False)
        except ExposedSecretFile as exc:
            raise RegistryError(str(exc)) from exc
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RegistryError(f"cannot read node registry {path}: {exc}") from exc
        if not isinstance(demo, bool) or not isinstance(raw_nodes, list):
            raise RegistryError(f"cannot read node registry {path}: 'demo' must be true/false, 'nodes' a list")
        return cls((NodeRecord.from_json(raw) for raw in raw_nodes), demo=demo)


def require_real_keys(registry: NodeRegistry, source: object, allow_demo: bool) -> None:
    """Refuse a demo registry (keys anyone can forge frames with) unless running inside the demo."""
    if registry.demo and not allow_demo:
        raise RegistryError(
            f"{source} is a demo registry: its keys are throwaway and must not guard real nodes. Provision "
            "real keys: list the nodes without keys (floodmesh nodes convert REGISTRY.json nodes.geojson), "
            "then floodmesh nodes convert --new-keys nodes.geojson nodes.json, and floodmesh nodes provision "
            "each node with the new registry. (Only the demo and tests set allow_demo_registry.)"
        )
