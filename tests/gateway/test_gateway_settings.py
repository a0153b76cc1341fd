"""GatewaySettings: positional construction as before, env names, the radio and registry a running gateway needs."""

from pathlib import Path

import pytest

from gateway.config import GatewaySettings
from gateway.service import GatewaySettings as ReExported
from protocol.process_settings import SettingsError


@pytest.mark.unit
def test_positional_construction_and_the_old_import_still_work(tmp_path: Path) -> None:
    s = GatewaySettings("19774", "gw-1", tmp_path / "outbox.db", "10.0.0.1", 1884, retry_s=2.0)
    assert (s.ward, s.gateway_id, s.broker_host, s.broker_port, s.retry_s) == ("19774", "gw-1", "10.0.0.1", 1884, 2.0)
    assert ReExported is GatewaySettings
    with pytest.raises(TypeError, match="two values for ward"):
        GatewaySettings("19774", ward="1")


@pytest.mark.unit
def test_environment_names_and_password_file(tmp_path: Path) -> None:
    password = tmp_path / "mqtt-password"
    password.write_text("s3cret\n", encoding="utf-8")
    registry = tmp_path / "nodes.json"
    registry.write_text("[]", encoding="utf-8")
    env = {"FLOODMESH_WARD": "19774", "FLOODMESH_GATEWAY_ID": "gw-19774",
           "FLOODMESH_OUTBOX_PATH": str(tmp_path / "o.db"), "FLOODMESH_RADIO": "tcp:radio.local",
           "FLOODMESH_REGISTRY_PATH": str(registry),
           "FLOODMESH_BROKER_PORT": "8883", "FLOODMESH_MQTT_PASSWORD_FILE": str(password),
           "FLOODMESH_MQTT_INSECURE_PLAINTEXT": "true", "FLOODMESH_KEEPALIVE_S": "10"}
    s = GatewaySettings.from_sources({"keepalive_s": 5}, None, env)
    endpoint = s.mqtt_endpoint()
    assert (endpoint.port, endpoint.username, endpoint.password) == (8883, "gw-19774", "s3cret")
    assert (s.radio, s.keepalive_s) == ("tcp:radio.local", 5)


@pytest.mark.unit
def test_a_running_gateway_needs_its_radio_and_registry(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        GatewaySettings.from_sources({"ward": "1", "gateway_id": "g", "mqtt_insecure_plaintext": True}, None, {})
    assert "radio: required to run a gateway (e.g. serial:/dev/ttyUSB0): give it with --radio, FLOODMESH_RADIO" \
        in str(info.value)
    assert "registry_path: required" in str(info.value)
    with pytest.raises(SettingsError, match=r"radio must be serial:/dev/ttyUSB0 or tcp:HOST\[:PORT\], got 'x'"):
        GatewaySettings.from_sources({"ward": "1", "gateway_id": "g", "radio": "x"}, None, {})
    with pytest.raises(SettingsError, match=r"outbox_path: the folder .* does not exist"):
        GatewaySettings.from_sources({"ward": "1", "gateway_id": "g", "radio": "serial:/dev/null",
                                      "registry_path": "/etc/hostname", "mqtt_insecure_plaintext": True,
                                      "outbox_path": tmp_path / "no" / "outbox.db"}, None, {})


@pytest.mark.parametrize("keepalive_s", [2, 3, 5, 30, 61])
def test_paho_keepalive_notices_a_half_open_link_within_one_and_a_half_keepalives(
    tmp_path: Path, keepalive_s: int
) -> None:
    s = GatewaySettings("19774", "gw-19774", tmp_path / "outbox.db", keepalive_s=keepalive_s)
    # paho gives up on a link at most two of its keepalives after the last byte came in.
    assert 1 <= s.mqtt_keepalive_s()
    assert 2 * s.mqtt_keepalive_s() <= 1.5 * keepalive_s
