"""TCP_NODELAY really is on for every paho client configured through ``MqttEndpoint``, TLS included.

``MqttEndpoint.configure`` sets it from paho's ``on_socket_open``, which paho 2.2 calls in
``reconnect()`` right after creating the socket (and, with TLS, after the handshake) on whichever
thread connects: the caller's for ``connect``, the loop thread's for ``connect_async`` + ``loop_start``
and for every automatic reconnect. paho uses the callback for nothing of its own.
"""

import socket
import ssl
import threading
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from floodmesh.broker import RunningBroker

pytestmark = pytest.mark.integration


class _Connections:
    """Counts CONNACKs so a test can wait for the n-th connection."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def on_connect(self, *_args: object) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_for(self, n: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.count >= n, timeout=20), f"connection {n} never came"


@pytest.fixture
def client(mosquitto: RunningBroker) -> Iterator[tuple[mqtt.Client, _Connections]]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="nodelay-probe")
    mosquitto.endpoint_for_central().configure(client)
    client.reconnect_delay_set(min_delay=1, max_delay=1)
    connections = _Connections()
    client.on_connect = connections.on_connect
    yield client, connections
    client.disconnect()
    client.loop_stop()


def _tcp(client: mqtt.Client) -> socket.socket:
    sock = client.socket()
    assert isinstance(sock, socket.socket), f"not connected over TCP: {sock!r}"
    return sock


def _nodelay(client: mqtt.Client) -> int:
    return _tcp(client).getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_client_started_with_loop_start_has_nagle_off_on_its_tls_socket(
    mosquitto: RunningBroker, client: tuple[mqtt.Client, _Connections]
) -> None:
    paho, connections = client
    paho.connect_async(mosquitto.host, mosquitto.port)
    paho.loop_start()
    connections.wait_for(1)
    assert mosquitto.endpoint_for_central().tls
    assert isinstance(paho.socket(), ssl.SSLSocket)  # the option is read through the TLS wrapper
    assert _nodelay(paho) == 1


def test_without_the_socket_open_hook_nagle_stays_on(
    mosquitto: RunningBroker, client: tuple[mqtt.Client, _Connections]
) -> None:
    # The control: the option comes from our hook, not from a kernel or Python default.
    paho, connections = client
    paho.on_socket_open = None
    paho.connect_async(mosquitto.host, mosquitto.port)
    paho.loop_start()
    connections.wait_for(1)
    assert _nodelay(paho) == 0


def test_the_socket_of_an_automatic_reconnect_has_nagle_off_too(
    mosquitto: RunningBroker, client: tuple[mqtt.Client, _Connections]
) -> None:
    paho, connections = client
    paho.connect_async(mosquitto.host, mosquitto.port)
    paho.loop_start()
    connections.wait_for(1)
    first = _tcp(paho)
    first_port = first.getsockname()[1]
    first.shutdown(socket.SHUT_RDWR)  # the link drops; paho's loop thread reconnects by itself
    connections.wait_for(2)
    assert _tcp(paho).getsockname()[1] != first_port
    assert _nodelay(paho) == 1
