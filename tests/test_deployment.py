"""docker-compose.yml describes the production deployment (no Docker engine here: structure only)."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"mosquitto", "influxdb", "central", "gateway"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(doc, dict)
    return doc


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    svc = compose["services"][name]
    assert isinstance(svc, dict)
    return svc


def _depends(svc: dict[str, Any]) -> set[str]:
    dep = svc.get("depends_on", {})
    return set(dep) if isinstance(dep, (dict, list)) else set()


@pytest.mark.unit
def test_the_four_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == SERVICES


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_an_image_and_restarts(compose: dict[str, Any], name: str) -> None:
    svc = _service(compose, name)
    assert svc.get("image") or svc.get("build")
    assert svc["restart"] == "unless-stopped"


@pytest.mark.unit
def test_images_are_pinned(compose: dict[str, Any]) -> None:
    assert _service(compose, "mosquitto")["image"] == "eclipse-mosquitto:2"
    assert _service(compose, "influxdb")["image"] == "influxdb:2.7"
    for name in ("central", "gateway"):
        svc = _service(compose, name)
        assert svc["build"] == "."
        assert svc["image"] == _service(compose, "central")["image"]  # one image, two commands
    assert (ROOT / "Dockerfile").is_file()
    assert "python:3.11-slim" in (ROOT / "Dockerfile").read_text()


@pytest.mark.unit
def test_mosquitto_config_is_in_the_repo(compose: dict[str, Any]) -> None:
    mounts = [v for v in _service(compose, "mosquitto")["volumes"] if v.endswith("/mosquitto.conf:ro")]
    assert len(mounts) == 1
    src = ROOT / mounts[0].split(":")[0]
    assert src == ROOT / "deploy/mosquitto/mosquitto.conf"
    conf = src.read_text()
    assert re.search(r"^persistence true$", conf, re.M)  # QoS 1 sessions survive a broker restart


@pytest.mark.unit
def test_mosquitto_is_tls_only_with_passwords_and_an_acl() -> None:
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    settings = [line.split(None, 1) for line in conf.splitlines() if line.strip() and not line.startswith("#")]
    values = {key: rest for key, *more in settings for rest in more}
    assert values["allow_anonymous"] == "false"
    assert values["per_listener_settings"] == "false"  # the three lines above hold for every listener
    assert values["set_tcp_nodelay"] == "true"
    for key in ("password_file", "acl_file", "cafile", "certfile", "keyfile"):
        assert values[key].startswith("/mosquitto/config/floodmesh/")
    listeners = [rest for key, *more in settings if key == "listener" for rest in more]
    assert listeners == ["8883"]  # one listener, and it is the TLS one: no plain MQTT port
    assert values["tls_version"] == "tlsv1.2"


@pytest.mark.unit
def test_influxdb_is_initialised_without_literal_secrets(compose: dict[str, Any]) -> None:
    env = _service(compose, "influxdb")["environment"]
    for key in ("MODE", "USERNAME", "PASSWORD", "ORG", "BUCKET", "ADMIN_TOKEN"):
        assert "DOCKER_INFLUXDB_INIT_" + key in env
    assert env["DOCKER_INFLUXDB_INIT_PASSWORD"].startswith("${")
    assert env["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"].startswith("${")


@pytest.mark.unit
def test_central(compose: dict[str, Any]) -> None:
    svc = _service(compose, "central")
    assert "mosquitto" in _depends(svc)
    assert "8080:8080" in svc["ports"]
    cmd = svc["command"].split()
    assert cmd[:2] == ["floodmesh", "central"]
    assert cmd[cmd.index("--broker") + 1] == "mosquitto:8883"
    assert cmd[cmd.index("--mqtt-ca") + 1].startswith("/etc/floodmesh/mqtt/")
    assert "--mqtt-password" not in cmd  # only ever from a file
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - in a container, for the port mapping
    assert cmd[cmd.index("--db") + 1].startswith("/data/")
    assert any(v.endswith(":/data") for v in svc["volumes"])
    assert "healthcheck" in svc


@pytest.mark.unit
def test_gateway_has_the_radio(compose: dict[str, Any]) -> None:
    svc = _service(compose, "gateway")
    assert "/dev/ttyUSB0:/dev/ttyUSB0" in svc["devices"]
    assert "mosquitto" in _depends(svc)
    assert "central" not in _depends(svc)  # a ward gateway runs alone when central is unreachable
    cmd = svc["command"].split()
    assert cmd[:2] == ["floodmesh", "gateway"]
    for flag, value in (("--ward", "19774"), ("--gateway", "gw-19774"), ("--radio", "serial:/dev/ttyUSB0")):
        assert cmd[cmd.index(flag) + 1] == value
    assert any(v.endswith(":/data") for v in svc["volumes"])  # the durable outbox


@pytest.mark.unit
def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = set()
    for svc in compose["services"].values():
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if not src.startswith((".", "/")):
                used.add(src)
    assert used
    assert used <= declared


@pytest.mark.unit
def test_healthchecked_dependencies(compose: dict[str, Any]) -> None:
    for svc in compose["services"].values():
        dep = svc.get("depends_on", {})
        for name, cond in dep.items() if isinstance(dep, dict) else []:
            if cond.get("condition") == "service_healthy":
                assert "healthcheck" in compose["services"][name], name
