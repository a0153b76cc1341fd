"""How a floodmesh process reaches its MQTT broker: address, identity and TLS, in one value.

Gateways and central both talk MQTT through paho; this is the one place that turns settings into a
configured client, so neither tier can forget TLS, credentials or TCP_NODELAY on its own.
"""

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt


class EndpointError(ValueError):
    """Settings that cannot make a working, secure MQTT connection."""


@dataclass(frozen=True)
class MqttEndpoint:
    """A broker and who we are to it.

    ``ca_file`` turns TLS on (the broker's certificate must chain to it and name ``host``);
    ``cert_file``/``key_file`` add a client certificate. ``insecure_plaintext`` is the one, explicitly
    named way to talk to a broker without TLS (a broker on the same host behind a firewall, tests
    that measure TLS's cost); without it and without a CA, the endpoint refuses to configure a client.
    """

    host: str = "127.0.0.1"
    port: int = 8883
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure_plaintext: bool = False

    def __post_init__(self) -> None:
        if self.ca_file is None and not self.insecure_plaintext:
            raise EndpointError(
                "MQTT without TLS: give the broker's CA file (mqtt_ca_file), or set insecure_plaintext "
                "explicitly if this broker really is reachable only from this host"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise EndpointError("a client certificate needs both cert_file and key_file")
        if self.password is not None and self.username is None:
            raise EndpointError("a password without a username: set mqtt_username too")

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted and the broker authenticated."""
        return self.ca_file is not None

    def configure(self, client: mqtt.Client) -> None:
        """Apply credentials, TLS and TCP_NODELAY to a fresh paho client (before it connects)."""
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.ca_file is not None:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.sslsocket_class = _ClosingSSLSocket
            if self.cert_file is not None and self.key_file is not None:
                context.load_cert_chain(str(self.cert_file), str(self.key_file))
            client.tls_set_context(context)
        client.on_socket_open = _no_delay

    def describe(self) -> str:
        """For logs: where and as whom, never the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        who = f"{self.username}@" if self.username else ""
        return f"{scheme}://{who}{self.host}:{self.port}"


class _ClosingSSLSocket(ssl.SSLSocket):
    """An SSL socket that closes itself when its handshake fails.

    paho (2.x) drops the socket of a failed handshake (untrusted CA, wrong host name) without closing
    it: one leaked descriptor per reconnect attempt of a misconfigured gateway, for hours.
    """

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    # An SOS ACK is one small packet each way: Nagle plus delayed ACK would add ~20 ms per round trip.
    raw = getattr(sock, "_sock", sock)  # paho may hand over an SSL wrapper
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass  # not a TCP socket (e.g. a websocket wrapper); nothing to tune


def endpoint_from(
    host: str, port: int, username: str | None, password: str | None, password_file: Path | None,
    ca_file: Path | None, cert_file: Path | None, key_file: Path | None, insecure_plaintext: bool,
) -> MqttEndpoint:
    """An endpoint from flat settings; a password file (first line) wins over an inline password."""
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError) as exc:
            raise EndpointError(f"cannot read the MQTT password file {password_file}: {exc}") from exc
    return MqttEndpoint(host, port, username, password, ca_file, cert_file, key_file, insecure_plaintext)


def release(client: mqtt.Client) -> None:
    """Disconnect, stop the network loop and close every socket the client holds.

    paho leaves its loop's wake-up socket pair (and a dead connection's socket) to ``__del__``; when the
    client sits in a reference cycle (callbacks bound to their owner), the sockets' own finalizers can
    run first: file descriptors leak until the cycle collector runs, with a ResourceWarning.
    """
    client.disconnect()
    client.loop_stop()
    client._reset_sockets()
