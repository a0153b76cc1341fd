"""``floodmesh wards import FILE.geojson --authorities FILE.csv``: check a real ward layer and install it.

The cleaned layer and the authorities go into a data directory (``--data-dir``, else
``$FLOODMESH_DATA_DIR``, else ``$XDG_DATA_HOME/floodmesh``, else ``~/.local/share/floodmesh``) as
``wards.geojson`` and ``authorities.csv``; central reads them when ``CentralSettings.wards_path`` and
``authorities_path`` point there. The shipped Huế layer stays the default.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from shapely.geometry import mapping

from central.geo.authorities import load_authorities
from central.geo.layer import LayerReport, read_layer
from central.geo.ward_locator import WardLocator


def default_data_dir() -> Path:
    """Where imported reference data goes unless told otherwise."""
    if os.environ.get("FLOODMESH_DATA_DIR"):
        return Path(os.environ["FLOODMESH_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "floodmesh"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _feature_collection(report: LayerReport) -> dict[str, Any]:
    features = [
        {"type": "Feature", "properties": {"code": w.code, "name": w.name, "type": w.type},
         "geometry": mapping(w.geometry)}
        for w in report.wards
    ]
    return {"type": "FeatureCollection", "features": features}


def import_wards(layer: Path, authorities: Path, data_dir: Path, out: Any = sys.stdout) -> int:
    """Validate, repair and install a ward layer with its authorities; 0 on success, 1 if nothing usable."""
    try:
        report = read_layer(json.loads(layer.read_text(encoding="utf-8")))
        by_code = load_authorities(authorities)
    except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        print(f"error: {exc}", file=out)
        return 1
    for p in report.repaired:
        print(f"repaired feature {p.index} ({p.code}): {p.reason}", file=out)
    for p in report.refused:
        print(f"refused feature {p.index} ({p.code or 'no code'}): {p.reason}", file=out)
    if not report.wards:
        print("error: no usable ward in the layer; nothing written", file=out)
        return 1
    codes = {w.code for w in report.wards}
    orphans = sorted(codes - by_code.keys())
    if orphans:
        print(f"warning: {len(orphans)} ward(s) without an authority go to the IOC: {', '.join(orphans)}", file=out)
    unknown = sorted(by_code.keys() - codes)
    if unknown:
        print(f"warning: {len(unknown)} authority row(s) for codes not in the layer: {', '.join(unknown)}", file=out)
    collection = _feature_collection(report)
    wards_path, authorities_path = data_dir / "wards.geojson", data_dir / "authorities.csv"
    _write_atomic(wards_path, json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n")
    if authorities.resolve() != authorities_path.resolve():
        shutil.copyfile(authorities, authorities_path)
    WardLocator.from_geojson(wards_path, load_authorities(authorities_path))  # what central will do at start
    print(f"imported {len(report.wards)} ward(s) ({len(report.repaired)} repaired, {len(report.refused)} refused)",
          file=out)
    print(f"wards_path={wards_path}", file=out)
    print(f"authorities_path={authorities_path}", file=out)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    return import_wards(args.layer, args.authorities, args.data_dir or default_data_dir())


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``wards`` and its subcommands on the ``floodmesh`` parser."""
    wards = sub.add_parser("wards", help="the ward layer and its authorities")
    wsub = wards.add_subparsers(dest="wards_command", required=True)
    imp = wsub.add_parser("import", help="check a ward GeoJSON and an authorities CSV and install them")
    imp.add_argument("layer", type=Path, help="GeoJSON FeatureCollection of (Multi)Polygons with code and name")
    imp.add_argument("--authorities", type=Path, required=True, help="authorities CSV (ward_code, authority, ...)")
    imp.add_argument("--data-dir", type=Path, default=None, help="where to write (default: see above)")
    imp.set_defaults(func=_cmd_import)
