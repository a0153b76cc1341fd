"""CentralSettings: flags > FLOODMESH_* environment > TOML file > defaults, checked at start; docker-compose's
variables are the ones central reads (central started the way the compose file starts it)."""

import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from central.core.config import CentralSettings
from floodmesh.broker import RunningBroker, free_port
from protocol.process_settings import SettingsError, env_name
from protocol.registry import NodeRegistry
from tests.central.central_testkit import GATEWAY, make_uplink, vector_hex
from tests.central.victoria import export, victoria_metrics
from tests.mqtt_peer import wait_until

ROOT = Path(__file__).resolve().parents[2]
PLAIN = {"mqtt_insecure_plaintext": True}  # the test broker has no TLS listener


@pytest.fixture
def registry_file(tmp_path: Path, registry: NodeRegistry) -> Path:
    path = tmp_path / "nodes.json"
    registry.save(path)
    return path


def no_floodmesh_env() -> dict[str, str]:
    """This process's environment without a developer's FLOODMESH_* variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FLOODMESH_")}


@pytest.mark.unit
def test_flag_beats_env_beats_toml_beats_default(tmp_path: Path, registry_file: Path) -> None:
    config = tmp_path / "central.toml"
    config.write_text('broker_port = 1001\napi_port = 2001\nclient_id = "from-toml"\nmqtt_insecure_plaintext = true\n',
                      encoding="utf-8")
    env = {"FLOODMESH_BROKER_PORT": "1002", "FLOODMESH_API_PORT": "2002", "FLOODMESH_REGISTRY_PATH": str(registry_file)}
    s = CentralSettings.from_sources({"broker_port": "1003"}, config, env)
    assert (s.broker_port, s.api_port, s.client_id, s.ward_tolerance_m) == (1003, 2002, "from-toml", 500.0)
    assert s.registry_path == registry_file


@pytest.mark.unit
def test_config_file_from_floodmesh_config(tmp_path: Path, registry_file: Path) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'registry_path = "{registry_file}"\nmqtt_insecure_plaintext = true\ndeadline_check_s = 5\n',
                      encoding="utf-8")
    s = CentralSettings.from_sources(environ={"FLOODMESH_CONFIG": str(config)})
    assert (s.registry_path, s.deadline_check_s) == (registry_file, 5.0)


@pytest.mark.unit
def test_plain_construction_reads_neither_environment_nor_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "stray.toml"
    config.write_text("broker_port = 1001\n", encoding="utf-8")
    monkeypatch.setenv("FLOODMESH_BROKER_PORT", "1002")
    monkeypatch.setenv("FLOODMESH_CONFIG", str(config))
    assert CentralSettings(registry_path=tmp_path / "nodes.json").broker_port == 8883


@pytest.mark.unit
def test_environment_names(tmp_path: Path, registry_file: Path) -> None:
    password, token = tmp_path / "mqtt-password", tmp_path / "influx-token"
    password.write_text("s3cret\n", encoding="utf-8")
    token.write_text("t0ken\n", encoding="utf-8")
    env = {"FLOODMESH_REGISTRY_PATH": str(registry_file), "FLOODMESH_BROKER_HOST": "broker.example",
           "FLOODMESH_BROKER_PORT": "8883", "FLOODMESH_MQTT_PASSWORD_FILE": str(password),
           "FLOODMESH_MQTT_INSECURE_PLAINTEXT": "true", "FLOODMESH_TELEMETRY_BACKEND": "influx",
           "FLOODMESH_INFLUX_TOKEN_FILE": str(token), "FLOODMESH_ALLOW_DEMO_REGISTRY": "1"}
    s = CentralSettings.from_sources(environ=env)
    endpoint = s.mqtt_endpoint()
    assert (endpoint.host, endpoint.port, endpoint.username, endpoint.password) == ("broker.example", 8883, "central",
                                                                                      "s3cret")
    assert (s.telemetry_backend, s.influx_token_value(), s.allow_demo_registry) == ("influx", "t0ken", True)
    inline = CentralSettings.from_sources(environ={**env, "FLOODMESH_INFLUX_TOKEN_FILE": "",
                                                   "FLOODMESH_INFLUX_TOKEN": "inline"})
    assert inline.influx_token_value() == "inline"
    assert "inline" not in repr(inline)


def refusal(overrides: dict[str, Any], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as info:
        CentralSettings.from_sources(overrides, None, environ or {})
    return str(info.value)


@pytest.mark.unit
def test_validation_names_the_setting_and_what_to_do(tmp_path: Path, registry_file: Path) -> None:
    missing = refusal({**PLAIN, "registry_path": tmp_path / "nowhere.json"})
    assert "registry_path: " in missing
    assert "does not exist: create it, or give the right path with --registry-path, FLOODMESH_REGISTRY_PATH" in missing
    port = refusal({**PLAIN, "registry_path": registry_file, "broker_port": 70000})
    assert port.startswith("broker_port: Input should be less than or equal to 65535 (got 70000)")
    assert "--broker-port, FLOODMESH_BROKER_PORT" in port
    influx = refusal({**PLAIN, "registry_path": registry_file, "telemetry_backend": "influx"})
    assert "telemetry_backend=influx needs a token: put it in a file and give --influx-token-file" in influx
    kind = refusal({**PLAIN, "registry_path": registry_file, "telemetry_backend": "prometheus"})
    assert kind.startswith("telemetry_backend: Input should be 'sqlite' or 'influx'")
    assert "registry_path: required" in refusal(PLAIN)
    tls = refusal({"registry_path": registry_file})
    assert "MQTT: MQTT without TLS: give the broker's CA file" in tls
    assert "--mqtt-ca-file" in tls
    secret = refusal({**PLAIN, "registry_path": registry_file, "influx_token": 12345})
    assert secret.startswith("influx_token: Input should be a valid string: fix it")
    assert "12345" not in secret  # a secret is never echoed


@pytest.mark.unit
def test_a_bad_config_file_is_refused_by_name(tmp_path: Path, registry_file: Path) -> None:
    config = tmp_path / "central.toml"
    config.write_text("brokr_port = 1\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"brokr_port: unknown setting in .*central.toml: remove it or fix"):
        CentralSettings.from_sources({**PLAIN, "registry_path": registry_file}, config, {})
    config.write_text("broker_port = [\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot be read as TOML"):
        CentralSettings.from_sources(PLAIN, config, {})
    with pytest.raises(SettingsError, match="does not exist: fix --config or FLOODMESH_CONFIG"):
        CentralSettings.from_sources(PLAIN, tmp_path / "nope.toml", {})


# --- central started the way docker-compose.yml starts it ------------------------------------------------


def compose_central() -> tuple[list[str], dict[str, str]]:
    """The compose file's command and environment for central, as written."""
    svc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["central"]
    return shlex.split(svc["command"]), {k: str(v) for k, v in svc["environment"].items()}


def on_this_host(value: str, workdir: Path, broker: RunningBroker, vm: str, api_port: int) -> str:
    """A compose value with its container names, volumes and secrets mapped onto this host's loopback."""
    if value.startswith("${"):
        return "test-token"  # a secret the operator passes in
    return (value.replace("http://influxdb:8086", vm).replace("mosquitto:8883", f"{broker.host}:{broker.port}")
            .replace("/etc/floodmesh/mqtt/ca.crt", str(broker.ca_file))
            .replace("/etc/floodmesh/mqtt/central.password", str(broker.password_file("central")))
            .replace("/data/", f"{workdir}/").replace("0.0.0.0", "127.0.0.1")  # noqa: S104 - replaced, not bound
            .replace("8080", str(api_port)))


@pytest.fixture
def vm(tmp_path: Path) -> Iterator[str]:
    """VictoriaMetrics (InfluxDB's v2 write API) on a free loopback port."""
    with victoria_metrics(tmp_path) as url:
        yield url


@pytest.mark.unit
def test_every_compose_variable_is_a_setting_central_reads(tmp_path: Path, registry_file: Path) -> None:
    _, env = compose_central()
    env = {k: "test-token" if v.startswith("${") else v for k, v in env.items()}
    base = {"registry_path": registry_file}
    defaults = CentralSettings(**base)
    needed = {"FLOODMESH_MQTT_INSECURE_PLAINTEXT": "true", "FLOODMESH_INFLUX_TOKEN": "x"}  # the flags' share
    for name, value in env.items():
        field = name.removeprefix("FLOODMESH_").lower()
        assert field in CentralSettings.model_fields, f"{name} is not a setting central reads"
        assert env_name(field) == name
        read = getattr(CentralSettings.from_sources(base, None, needed | {name: value}), field)
        assert read == getattr(CentralSettings(**base, **{field: value}), field), name
        if read == getattr(defaults, field):  # the compose file states a default: show it is read all the same
            read = getattr(CentralSettings.from_sources(base, None, needed | {name: value + "-probe"}), field)
        assert read != getattr(defaults, field), f"{name} does not change {field}"


@pytest.mark.integration
@pytest.mark.slow
def test_central_started_like_compose_writes_a_point_to_influx(
    tmp_path: Path, mosquitto: RunningBroker, vm: str, registry: NodeRegistry,
) -> None:
    workdir = tmp_path / "data"
    workdir.mkdir()
    registry.save(workdir / "nodes.json")
    api_port = free_port()
    command, env = compose_central()
    assert command[:2] == ["floodmesh", "central"]
    argv = [on_this_host(arg, workdir, mosquitto, vm, api_port) for arg in command[2:]]
    environ = no_floodmesh_env() | {k: on_this_host(v, workdir, mosquitto, vm, api_port) for k, v in env.items()}
    log = (tmp_path / "central.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "floodmesh", "-v", "central", *argv], env=environ,
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="compose-gateway")
    identity = mosquitto.add_gateway("19813", GATEWAY)
    identity.configure(publisher)
    connected = threading.Event()
    publisher.on_connect = lambda *_: connected.set()
    publisher.connect(identity.host, identity.port)
    publisher.loop_start()
    try:
        assert connected.wait(10)
        wait_until(lambda: proc.poll() is None and _healthy(api_port), 60, "central's /healthz with MQTT up")

        def stored() -> bool:  # publish until central (subscribing as it connects) has it in VictoriaMetrics
            publisher.publish(*make_uplink(vector_hex("water_level_kim_long"), 2, ward="19813"), qos=1)
            return bool(export(vm, "river_gauge_level_m"))

        wait_until(stored, 60, "a point in VictoriaMetrics")
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        proc.terminate()
        code = proc.wait(30)
        log.close()
    assert code == 0, (tmp_path / "central.log").read_text()[-2000:]
    (series,) = export(vm, "river_gauge_level_m")
    assert series["metric"]["station"] == "kim_long"


def _healthy(port: int) -> bool:
    try:
        return bool(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json().get("mqtt_connected"))
    except (httpx.HTTPError, ValueError):
        return False
