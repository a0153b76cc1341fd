"""Mosquitto turns Nagle off on the connections it accepts, because our configs say so."""

import socket
import subprocess
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from floodmesh.broker import RunningBroker, find_mosquitto, free_port, probe_connect
from floodmesh.broker_config import MosquittoOptions, insecure_plaintext_config, secure_config
from protocol.mqtt_endpoint import MqttEndpoint
from tests.mqtt_peer import wait_until
from tests.process_sockets import peer_tcp_nodelay


def _connected(endpoint: MqttEndpoint) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="nodelay-peer")
    endpoint.configure(client)
    up = threading.Event()
    client.on_connect = lambda *_: up.set()
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    assert up.wait(20), "no CONNACK from the broker"
    return client


def _broker_side_nodelay(pid: int, client: mqtt.Client) -> bool:
    sock = client.socket()
    assert isinstance(sock, socket.socket), f"not connected over TCP: {sock!r}"
    return peer_tcp_nodelay(pid, sock.getsockname())


@pytest.mark.unit
@pytest.mark.parametrize("config", ["secure", "plaintext"])
def test_every_generated_mosquitto_config_sets_tcp_nodelay(tmp_path: Path, config: str) -> None:
    options = MosquittoOptions("127.0.0.1", 8883)
    text = secure_config(tmp_path, options) if config == "secure" else insecure_plaintext_config(options)
    assert "set_tcp_nodelay true" in text.splitlines()


@pytest.mark.integration
def test_the_secured_broker_has_nagle_off_on_an_accepted_tls_connection(mosquitto: RunningBroker) -> None:
    client = _connected(mosquitto.endpoint_for_central())
    try:
        assert _broker_side_nodelay(mosquitto.process.pid, client) is True
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.integration
def test_a_mosquitto_without_the_setting_keeps_nagle_on(tmp_path: Path) -> None:
    # The control: the broker-side probe does see Mosquitto's default (Nagle on).
    binary = find_mosquitto()
    assert binary is not None, "mosquitto is not installed: scripts/setup.sh installs it"
    port = free_port()
    conf = tmp_path / "default.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = MqttEndpoint("127.0.0.1", port, insecure_plaintext=True)
        wait_until(lambda: probe_connect(endpoint, timeout_s=1.0), what="the default-config mosquitto to listen")
        client = _connected(endpoint)
        try:
            assert _broker_side_nodelay(process.pid, client) is False
        finally:
            client.disconnect()
            client.loop_stop()
    finally:
        process.terminate()
        process.wait(timeout=10)

