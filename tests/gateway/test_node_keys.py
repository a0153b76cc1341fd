"""A gateway holds only its own ward's real node keys: province-wide and demo registries are refused."""

from pathlib import Path

import pytest

from floodmesh.cli import main
from gateway.node_keys import check_ward_registry, load_ward_registry
from protocol.registry import NodeRecord, NodeRegistry, RegistryError

pytestmark = pytest.mark.unit
WARD = "19774"
OWN = NodeRecord(0x0B000001, "sos_button", b"a" * 16, WARD)
FOREIGN = [NodeRecord(0x0B000002, "sos_button", b"b" * 16, "19753"),
           NodeRecord(0x0A000001, "water_level", b"c" * 16, "19813", 16.41667, 107.5667, "kim_long")]


def _saved(tmp_path: Path, registry: NodeRegistry, name: str = "nodes.json") -> Path:
    registry.save(tmp_path / name)
    return tmp_path / name


def test_its_own_wards_registry_is_accepted(tmp_path: Path) -> None:
    loaded = load_ward_registry(_saved(tmp_path, NodeRegistry([OWN])), WARD, allow_demo=False)
    assert [r.node_id for r in loaded] == [OWN.node_id]


def test_a_province_wide_registry_is_refused_with_the_export_to_run(tmp_path: Path) -> None:
    path = _saved(tmp_path, NodeRegistry([OWN, *FOREIGN]))
    with pytest.raises(RegistryError) as refused:
        load_ward_registry(path, WARD, allow_demo=False)
    message = str(refused.value)
    assert "2 node(s) in other wards (19753, 19813)" in message
    assert f"floodmesh nodes export --ward {WARD} --registry {path} --out nodes-{WARD}.json" in message


def test_a_demo_registry_is_refused_unless_the_demo_allows_it(tmp_path: Path) -> None:
    path = _saved(tmp_path, NodeRegistry([OWN], demo=True))
    with pytest.raises(RegistryError, match=r"demo registry.*floodmesh nodes convert --new-keys"):
        load_ward_registry(path, WARD, allow_demo=False)
    assert load_ward_registry(path, WARD, allow_demo=True).demo


def test_a_registry_with_no_node_of_the_ward_is_accepted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    check_ward_registry(NodeRegistry(), WARD, "nodes.json", allow_demo=False)
    assert "holds no node of ward 19774" in caplog.text


def _gateway_cli(registry: Path) -> int:
    # The refusal comes before the radio is opened: nothing listens on port 1, and nothing needs to.
    # Plaintext, named explicitly: the registry's refusal is under test, not the MQTT settings' (TLS by default).
    return main(["gateway", "--ward", WARD, "--gateway", f"gw-{WARD}", "--radio", "tcp:127.0.0.1:1",
                 "--registry", str(registry), "--outbox", str(registry.parent / "outbox.db"),
                 "--mqtt-insecure-plaintext"])


def test_cli_refuses_a_province_wide_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _gateway_cli(_saved(tmp_path, NodeRegistry([OWN, *FOREIGN]))) == 2
    err = capsys.readouterr().err
    assert err.startswith("floodmesh gateway: ")
    assert f"floodmesh nodes export --ward {WARD}" in err
    assert not (tmp_path / "outbox.db").exists()


def test_cli_refuses_a_demo_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _gateway_cli(_saved(tmp_path, NodeRegistry([OWN], demo=True))) == 2
    assert "is a demo registry" in capsys.readouterr().err


def test_cli_refuses_a_registry_other_users_can_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _saved(tmp_path, NodeRegistry([OWN]))
    path.chmod(0o644)
    assert _gateway_cli(path) == 2
    assert f"chmod 600 {path}" in capsys.readouterr().err
