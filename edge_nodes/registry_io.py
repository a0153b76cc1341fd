"""The node registry as CSV (for people and spreadsheets) and GeoJSON (for maps), in and out.

A row/feature is a node: id, kind, ward, location, station, datum, key. ``datum_m`` (the height of
the sensor's zero above the station datum) is carried here because ``protocol.registry.NodeRecord``
has no field for it yet. GeoJSON is for maps and is shared widely: keys are left out unless asked for.
A file with keys (CSV, a registry ``.json``, GeoJSON with keys) is written 0600 and atomically
(protocol/secret_file.py).
"""

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edge_nodes.fleet import new_key
from protocol.registry import NodeRecord, NodeRegistry, RegistryError
from protocol.secret_file import write_private

CSV_COLUMNS = ("node_id", "kind", "ward", "lat", "lon", "station_id", "datum_m", "key")


@dataclass(frozen=True)
class FleetNode:
    """A registry record plus what only the host needs (the sensor datum)."""

    record: NodeRecord
    datum_m: float | None = None


def _num(value: object, what: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"{what}: not a number: {value!r}") from exc


def _node(raw: dict[str, object], where: str, make_key: bool) -> FleetNode:
    raw = dict(raw)
    if not raw.get("key"):
        if not make_key:
            raise RegistryError(f"{where}: no key (import with new keys to provision fresh ones)")
        raw["key"] = new_key().hex()
    lat, lon = _num(raw.get("lat"), f"{where} lat"), _num(raw.get("lon"), f"{where} lon")
    if (lat is None) != (lon is None) or (lat is not None and not -90 <= lat <= 90) or (
        lon is not None and not -180 <= lon <= 180
    ):
        raise RegistryError(f"{where}: bad location {lat!r}, {lon!r}")
    raw["lat"], raw["lon"] = lat, lon
    raw["station_id"] = raw.get("station_id") or None
    try:
        record = NodeRecord.from_json(raw)
    except RegistryError as exc:
        raise RegistryError(f"{where}: {exc}") from exc
    return FleetNode(record, _num(raw.get("datum_m"), f"{where} datum_m"))


def _check_unique(nodes: list[FleetNode]) -> list[FleetNode]:
    seen: set[int] = set()
    for n in nodes:
        if n.record.node_id in seen:
            raise RegistryError(f"node {n.record.node_id:08x} listed twice")
        seen.add(n.record.node_id)
    return nodes


def to_csv(nodes: Iterable[FleetNode]) -> str:
    """Nodes as CSV text, one row per node, keys included (the CSV is the provisioning master)."""
    out = io.StringIO()
    w = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for n in nodes:
        row = n.record.to_json()
        row["datum_m"] = n.datum_m
        w.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    return out.getvalue()


def from_csv(text: str, make_keys: bool = False) -> list[FleetNode]:
    """Parse CSV text; a bad row raises RegistryError naming its line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"node_id", "kind", "ward"} - set(reader.fieldnames or ())
    if missing:
        raise RegistryError(f"CSV lacks column(s) {', '.join(sorted(missing))}")
    return _check_unique([_node(dict(row), f"line {reader.line_num}", make_keys) for row in reader])


def to_geojson(nodes: Iterable[FleetNode], include_keys: bool = False) -> str:
    """A FeatureCollection of the nodes (Point where the location is known, else null geometry)."""
    feats = []
    for n in nodes:
        props = n.record.to_json()
        lat, lon = props.pop("lat"), props.pop("lon")
        if not include_keys:
            props.pop("key")
        props["datum_m"] = n.datum_m
        geom = None if lat is None else {"type": "Point", "coordinates": [lon, lat]}
        feats.append({"type": "Feature", "geometry": geom, "properties": props})
    return json.dumps({"type": "FeatureCollection", "features": feats}, indent=1)


def from_geojson(text: str, make_keys: bool = False) -> list[FleetNode]:
    """Parse a FeatureCollection of Point (or null-geometry) features."""
    try:
        doc = json.loads(text)
        feats = doc["features"] if doc.get("type") == "FeatureCollection" else None
    except (ValueError, AttributeError, KeyError) as exc:
        raise RegistryError(f"not a GeoJSON FeatureCollection: {exc}") from exc
    if not isinstance(feats, list):
        raise RegistryError("not a GeoJSON FeatureCollection")
    nodes = []
    for i, f in enumerate(feats):
        where = f"feature {i}"
        props = dict(f.get("properties") or {}) if isinstance(f, dict) else None
        geom = f.get("geometry") if isinstance(f, dict) else None
        if props is None:
            raise RegistryError(f"{where}: not a feature")
        if geom is not None:
            if geom.get("type") != "Point" or len(geom.get("coordinates") or ()) < 2:
                raise RegistryError(f"{where}: geometry must be a Point")
            props["lon"], props["lat"] = geom["coordinates"][:2]
        nodes.append(_node(props, where, make_keys))
    return _check_unique(nodes)


def load(path: Path, make_keys: bool = False) -> list[FleetNode]:
    """Read nodes from ``.csv``, ``.geojson`` or a registry ``.json`` (which has no datum)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise RegistryError(f"cannot read {path}: {exc}") from exc
    if path.suffix == ".csv":
        return from_csv(text, make_keys)
    if path.suffix == ".geojson":
        return from_geojson(text, make_keys)
    return [FleetNode(r) for r in NodeRegistry.load(path)]


def is_demo(path: Path) -> bool:
    """Whether ``path`` is a registry ``.json`` marked demo (CSV and GeoJSON carry no marker)."""
    return path.suffix not in (".csv", ".geojson") and NodeRegistry.load(path).demo


def save(nodes: list[FleetNode], path: Path, include_keys: bool = False, *, demo: bool = False) -> None:
    """Write nodes by the file's suffix: ``.csv``, ``.geojson`` or a registry ``.json`` for gateways/central.

    ``demo``: the keys are throwaway; only a registry ``.json`` can say so, so a demo's keys are refused
    in a CSV or a GeoJSON with keys (they would pass for real ones there).
    """
    keys_out = path.suffix == ".csv" or (path.suffix == ".geojson" and include_keys)
    if demo and keys_out:
        raise RegistryError(f"{path}: demo keys are kept in a registry .json only (write the GeoJSON without "
                            "keys, then convert it with --new-keys to provision real ones)")
    if path.suffix not in (".csv", ".geojson"):
        NodeRegistry((n.record for n in nodes), demo=demo).save(path)
    elif keys_out:
        write_private(path, to_csv(nodes) if path.suffix == ".csv" else to_geojson(nodes, include_keys=True))
    else:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(to_geojson(nodes))
        tmp.replace(path)
