"""Central refuses a demo registry (throwaway keys) outside the demo, and key files others can read."""

from pathlib import Path

import httpx
import pytest

from central.core.config import CentralSettings
from central.service import CentralService
from floodmesh.broker import RunningBroker, settings_fields
from floodmesh.cli import main
from protocol.registry import NodeRecord, NodeRegistry, RegistryError
from tests.central.central_testkit import BUTTON_ID, BUTTON_KEY, WARD


def _registry_file(tmp_path: Path, demo: bool) -> Path:
    NodeRegistry([NodeRecord(BUTTON_ID, "sos_button", BUTTON_KEY, WARD)], demo=demo).save(tmp_path / "nodes.json")
    return tmp_path / "nodes.json"


@pytest.mark.unit
def test_start_refuses_a_demo_registry_before_taking_a_boot_epoch(tmp_path: Path) -> None:
    service = CentralService(CentralSettings(db_path=tmp_path / "central.db", api_port=0,
                                             registry_path=_registry_file(tmp_path, demo=True)))
    with pytest.raises(RegistryError, match=r"demo registry.*floodmesh nodes convert --new-keys"):
        service.start()
    assert service.store is None
    assert not (tmp_path / "central.db").exists()


@pytest.mark.integration
def test_start_accepts_a_demo_registry_when_allowed(tmp_path: Path, mosquitto: RunningBroker) -> None:
    service = CentralService(CentralSettings(
        db_path=tmp_path / "central.db", registry_path=_registry_file(tmp_path, demo=True), api_port=0,
        **settings_fields(mosquitto.endpoint_for_central()), allow_demo_registry=True))
    service.start()
    try:
        assert httpx.get(f"{service.api_url}/healthz", timeout=5).json()["status"] == "ok"
        assert service.boot_epoch == 1
    finally:
        service.stop()


def _central_cli(tmp_path: Path, registry: Path) -> int:
    return main(["central", "--registry", str(registry), "--db", str(tmp_path / "central.db"), "--port", "0",
                 "--broker", "127.0.0.1:1", "--mqtt-insecure-plaintext"])


@pytest.mark.unit
def test_cli_refuses_a_demo_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _central_cli(tmp_path, _registry_file(tmp_path, demo=True)) == 2
    err = capsys.readouterr().err
    assert err.startswith("floodmesh central: ")
    assert "is a demo registry" in err
    assert "floodmesh nodes convert --new-keys" in err


@pytest.mark.unit
def test_cli_refuses_a_registry_other_users_can_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _registry_file(tmp_path, demo=False)
    path.chmod(0o640)
    assert _central_cli(tmp_path, path) == 2
    assert f"chmod 600 {path}" in capsys.readouterr().err
