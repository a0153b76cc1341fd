"""The node registry file round-trips and refuses records it cannot trust."""

import json
from pathlib import Path

import pytest

from protocol.registry import NodeRecord, NodeRegistry, RegistryError

pytestmark = pytest.mark.unit


def test_save_and_load(tmp_path: Path) -> None:
    reg = NodeRegistry([NodeRecord(0x0A000001, "water_level", b"k" * 16, "19813", 16.4, 107.5, "kim_long"),
                        NodeRecord(0x0B000001, "sos_button", b"b" * 16, "19774")])
    reg.save(tmp_path / "nodes.json")
    loaded = NodeRegistry.load(tmp_path / "nodes.json")
    assert loaded.get(0x0A000001) == reg.get(0x0A000001)
    assert [r.node_id for r in loaded.in_ward("19774")] == [0x0B000001]
    assert loaded.get(0x0C000000) is None


@pytest.mark.parametrize(
    "record",
    [
        {"node_id": "zz", "kind": "sos_button", "key": "00" * 16, "ward": "1"},
        {"node_id": "01", "kind": "toaster", "key": "00" * 16, "ward": "1"},
        {"node_id": "01", "kind": "sos_button", "key": "00" * 8, "ward": "1"},
        {"node_id": "01", "kind": "sos_button", "ward": "1"},
    ],
)
def test_bad_records_are_refused(tmp_path: Path, record: dict[str, str]) -> None:
    (tmp_path / "nodes.json").write_text(json.dumps({"nodes": [record]}))
    with pytest.raises(RegistryError):
        NodeRegistry.load(tmp_path / "nodes.json")


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "nodes.json").write_text("{")
    with pytest.raises(RegistryError, match="cannot read"):
        NodeRegistry.load(tmp_path / "nodes.json")
