"""The node registry file round-trips and refuses records it cannot trust."""

import json
import os
import stat
from pathlib import Path

import pytest

from protocol import secret_file
from protocol.registry import NodeRecord, NodeRegistry, RegistryError, require_real_keys
from protocol.secret_file import write_private

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
    _write_private_json(tmp_path / "nodes.json", {"nodes": [record]})
    with pytest.raises(RegistryError):
        NodeRegistry.load(tmp_path / "nodes.json")


def test_unreadable_file(tmp_path: Path) -> None:
    write_private(tmp_path / "nodes.json", "{")
    with pytest.raises(RegistryError, match="cannot read"):
        NodeRegistry.load(tmp_path / "nodes.json")


def _write_private_json(path: Path, doc: object) -> None:
    write_private(path, json.dumps(doc))


def test_save_is_0600_with_umask_022_and_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "nodes.json"
        NodeRegistry([NodeRecord(0x0B000001, "sos_button", b"b" * 16, "19774")]).save(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()

    def crash(_src: object, _dst: object) -> None:
        raise OSError("disk pulled mid-save")

    monkeypatch.setattr(secret_file.os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled"):
        NodeRegistry([NodeRecord(0x0B000002, "sos_button", b"c" * 16, "19774")]).save(path)
    assert path.read_bytes() == before  # the old registry, whole
    assert [p.name for p in tmp_path.iterdir()] == ["nodes.json"]


def test_save_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(secret_file.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    NodeRegistry([NodeRecord(0x0B000001, "sos_button", b"b" * 16, "19774")]).save(tmp_path / "nodes.json")
    assert len(synced) == 2  # the file, then its directory


def test_a_registry_other_users_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nodes.json"
    NodeRegistry([NodeRecord(0x0B000001, "sos_button", b"b" * 16, "19774")]).save(path)
    path.chmod(0o644)
    with pytest.raises(RegistryError, match=f"chmod 600 {path}"):
        NodeRegistry.load(path)


def test_the_demo_marker_round_trips_and_is_absent_from_real_registries(tmp_path: Path) -> None:
    rec = NodeRecord(0x0B000001, "sos_button", b"b" * 16, "19774")
    NodeRegistry([rec], demo=True).save(tmp_path / "demo.json")
    NodeRegistry([rec]).save(tmp_path / "real.json")
    assert json.loads((tmp_path / "demo.json").read_text())["demo"] is True
    assert NodeRegistry.load(tmp_path / "demo.json").demo
    assert not NodeRegistry.load(tmp_path / "real.json").demo
    _write_private_json(tmp_path / "old.json", {"nodes": [rec.to_json()]})  # written before the marker existed
    assert not NodeRegistry.load(tmp_path / "old.json").demo
    _write_private_json(tmp_path / "bad.json", {"demo": "no", "nodes": [rec.to_json()]})
    with pytest.raises(RegistryError, match="'demo' must be true/false"):
        NodeRegistry.load(tmp_path / "bad.json")


def test_demo_keys_are_refused_unless_allowed() -> None:
    demo = NodeRegistry([NodeRecord(0x0B000001, "sos_button", b"b" * 16, "19774")], demo=True)
    with pytest.raises(RegistryError, match="floodmesh nodes convert --new-keys"):
        require_real_keys(demo, "nodes.json", allow_demo=False)
    require_real_keys(demo, "nodes.json", allow_demo=True)
    require_real_keys(NodeRegistry(demo.in_ward("19774")), "nodes.json", allow_demo=False)


def test_only_ward_keeps_that_wards_nodes_and_the_demo_marker() -> None:
    reg = NodeRegistry([NodeRecord(0x0B000001, "sos_button", b"b" * 16, "19774"),
                        NodeRecord(0x0B000002, "sos_button", b"c" * 16, "19753")], demo=True)
    ward = reg.only_ward("19753")
    assert ([r.node_id for r in ward], ward.demo, reg.wards()) == ([0x0B000002], True, {"19774", "19753"})
