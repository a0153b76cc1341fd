"""Start an MQTT broker for a one-machine run: Mosquitto when installed, else the embedded amqtt.

Either broker runs as a child process with its own config on a free loopback port, so it never
touches a system broker already bound to 1883 and dies with the run. It is configured like a
production broker (TLS, one password per identity, ACL; see ``floodmesh.broker_config``) so the
demo and the tests exercise the same trust boundary as a deployment.
"""

import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from floodmesh.broker_amqtt import amqtt_config
from floodmesh.broker_auth import CENTRAL, BrokerAuth, gateway_identity
from floodmesh.broker_config import MosquittoOptions, init_broker_directory, insecure_plaintext_config, secure_config
from floodmesh.broker_tls import DEFAULT_HOSTS, TlsFiles
from protocol.mqtt_endpoint import MqttEndpoint

BrokerKind = Literal["mosquitto", "amqtt"]

_MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerError(RuntimeError):
    """The broker could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now (a busy 8080 should not stop the demo)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary, or None (Debian puts it in /usr/sbin, often not on PATH)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in _MOSQUITTO_PATHS if Path(p).exists()), None)


@dataclass
class RunningBroker:
    """A broker child process, where to reach it, and the identities it knows.

    ``directory`` holds its CA, certificate, passwords and ACL (see ``floodmesh.broker_config``);
    it is None only for the explicitly insecure plaintext broker of a baseline benchmark.
    """

    kind: BrokerKind
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    directory: Path | None = None
    loaded: set[str] = field(default_factory=set)  # usernames the running broker has read
    _stopped: bool = field(default=False, repr=False)

    @property
    def insecure_plaintext(self) -> bool:
        """Whether this broker lets anyone in without TLS (baseline benchmarks only)."""
        return self.directory is None

    @property
    def ca_file(self) -> Path | None:
        """The CA clients must trust to reach this broker (None for the plaintext baseline)."""
        return None if self.directory is None else TlsFiles.under(self.directory).ca_cert

    def endpoint_for(self, username: str | None, host: str | None = None, port: int | None = None) -> MqttEndpoint:
        """How ``username`` (an identity already on record) reaches this broker, optionally via a proxy."""
        host, port = host or self.host, port or self.port
        if self.directory is None:
            return MqttEndpoint(host, port, insecure_plaintext=True)
        if username is None:
            raise BrokerError("this broker refuses anonymous clients: ask for a named identity")
        return MqttEndpoint(host, port, username, BrokerAuth(self.directory).password(username), self.ca_file)

    def password_file(self, username: str) -> Path:
        """The 0600 file holding ``username``'s password (for ``--mqtt-password-file``)."""
        if self.directory is None:
            raise BrokerError("the plaintext baseline broker has no identities")
        return BrokerAuth(self.directory).secret_path(username)

    def cli_args(self, username: str, host: str | None = None, port: int | None = None) -> list[str]:
        """``floodmesh central|gateway`` flags that connect as ``username`` (optionally via a proxy)."""
        where = ["--broker", f"{host or self.host}:{port or self.port}"]
        if self.directory is None:
            return [*where, "--mqtt-insecure-plaintext"]
        return [*where, "--mqtt-username", username, "--mqtt-password-file", str(self.password_file(username)),
                "--mqtt-ca", str(self.ca_file)]

    def endpoint_for_central(self) -> MqttEndpoint:
        """Central's identity on this broker."""
        return self.endpoint_for(CENTRAL)

    def add_gateway(self, ward: str, gateway: str, timeout_s: float = 20.0) -> MqttEndpoint:
        """Give ``gateway`` of ``ward`` an identity, reload the broker, and return once it is accepted."""
        if self.directory is None:
            return self.endpoint_for(None)
        BrokerAuth(self.directory).add(gateway_identity(ward, gateway))
        endpoint = self.endpoint_for(gateway)
        if gateway in self.loaded:
            return endpoint
        self.reload()
        # Mosquitto reloads asynchronously after SIGHUP: the proof it is done is the new identity getting in.
        deadline = time.monotonic() + timeout_s
        while not probe_connect(endpoint, timeout_s=2.0):
            if time.monotonic() > deadline:
                raise BrokerError(f"broker did not accept {gateway} after reloading; see {self.log_path}")
            self.reload()  # a SIGHUP during an earlier reload may have been coalesced
        self.loaded.add(gateway)
        return endpoint

    def reload(self) -> None:
        """Ask the broker to re-read its passwords and ACL (SIGHUP; Mosquitto keeps connections)."""
        if self.kind != "mosquitto":
            raise BrokerError("only Mosquitto reloads identities at run time: pass the gateway to "
                              "start_broker(gateways=...) or restart the amqtt broker")
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        """Terminate the broker and wait for it."""
        if self._stopped:
            return
        self._stopped = True
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """Kill -9 the broker (failure tests)."""
        self._stopped = True
        self.process.kill()
        self.process.wait(timeout=10)

    def __enter__(self) -> "RunningBroker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def probe_connect(endpoint: MqttEndpoint, timeout_s: float) -> bool:
    """Whether ``endpoint``'s identity gets a successful CONNACK within ``timeout_s``."""
    accepted = threading.Event()
    answered = threading.Event()

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        if not reason.is_failure:
            accepted.set()
        answered.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"floodmesh-probe-{secrets.token_hex(4)}")
    endpoint.configure(client)
    client.on_connect = on_connect
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=10)
    except OSError:  # includes ssl.SSLError
        return False
    client.loop_start()
    try:
        answered.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return accepted.is_set()


def _mosquitto_config(
    workdir: Path, host: str, port: int, insecure_plaintext: bool, persistence: bool, max_queued: int | None,
    autosave_interval_s: int | None = None,
) -> Path:
    conf = workdir / "mosquitto.conf"
    state = workdir / "persistence" if persistence else None
    if state is not None:
        state.mkdir(mode=0o700, exist_ok=True)
    options = MosquittoOptions(host, port, log_file=workdir / "mosquitto.log", persistence_dir=state,
                               autosave_interval_s=autosave_interval_s)
    if max_queued is not None:
        options = replace(options, max_queued_messages=max_queued)
    if insecure_plaintext:
        conf.write_text(insecure_plaintext_config(options))
    else:
        conf.write_text(secure_config(workdir, options))
    return conf


def _cert_hosts(host: str) -> list[str]:
    # The demo's gateways dial 127.0.0.1 through a backhaul proxy: the certificate must name it too.
    return list(dict.fromkeys([host, *DEFAULT_HOSTS]))


def wait_for_port(host: str, port: int, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerError(f"broker exited with code {process.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BrokerError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s")


def start_broker(
    workdir: Path, prefer: BrokerKind | None = None, host: str = "127.0.0.1", port: int = 0,
    insecure_plaintext: bool = False, gateways: Sequence[tuple[str, str]] = (),
    cert_hosts: Sequence[str] | None = None, persistence: bool = False, max_queued_messages: int | None = None,
    autosave_interval_s: int | None = None,
) -> RunningBroker:
    """Start Mosquitto (if installed and not told otherwise) or amqtt on ``host:port`` (0 = free).

    Secure by default: a TLS listener whose certificate names ``host``, 127.0.0.1 and localhost, signed
    by a CA in ``workdir``; passwords and an ACL; no anonymous client. Central's identity exists from
    the start, gateways are added with ``RunningBroker.add_gateway``. A ``workdir`` used before keeps
    its CA and identities, so clients of a restarted broker still trust it and get in.
    ``cert_hosts`` replaces the names in the certificate (default: ``host``, 127.0.0.1, localhost).
    ``gateways`` ((ward, gateway) pairs) get identities before the broker starts (amqtt cannot reload).
    ``insecure_plaintext`` starts an anonymous plaintext broker instead: only for baseline benchmarks.
    ``persistence`` keeps sessions and queued messages in ``workdir``/persistence (Mosquitto only), so a
    broker restarted on the same ``workdir`` and ``port`` picks them up again (fault tests).
    ``max_queued_messages`` lowers what Mosquitto keeps for an offline client (fault tests: the outbox
    must backfill what the broker dropped). ``autosave_interval_s`` saves the persistence file that often
    (Mosquitto's default is 1800 s), so that a broker killed -9 comes back with recent state (fault tests).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if not insecure_plaintext:
        init_broker_directory(workdir, list(cert_hosts or _cert_hosts(host)), datetime.now(UTC))
        for ward, gateway in gateways:
            BrokerAuth(workdir).add(gateway_identity(ward, gateway))
    port = port or free_port(host)
    mosquitto = find_mosquitto()
    kind: BrokerKind = "mosquitto" if mosquitto and prefer != "amqtt" else "amqtt"
    if prefer == "mosquitto" and not mosquitto:
        raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
    if kind == "mosquitto" and mosquitto:
        cmd = [mosquitto, "-c", str(_mosquitto_config(workdir, host, port, insecure_plaintext, persistence,
                                                      max_queued_messages, autosave_interval_s))]
    else:
        cmd = [sys.executable, "-m", "amqtt.scripts.broker_script", "-c",
               str(amqtt_config(workdir, host, port, insecure_plaintext))]
    log_path = workdir / f"{kind}.out"
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # noqa: S603
    try:
        wait_for_port(host, port, timeout_s=20, process=process)
    except BrokerError:
        process.kill()
        raise
    known = frozenset(i.username for i in BrokerAuth(workdir).identities()) if not insecure_plaintext else frozenset()
    return RunningBroker(kind=kind, host=host, port=port, process=process, log_path=log_path,
                         directory=None if insecure_plaintext else workdir, loaded=set(known))


def settings_fields(endpoint: MqttEndpoint) -> dict[str, Any]:
    """``endpoint`` as the flat ``broker_*``/``mqtt_*`` fields of CentralSettings and GatewaySettings."""
    return {"broker_host": endpoint.host, "broker_port": endpoint.port, "mqtt_username": endpoint.username,
            "mqtt_password": endpoint.password, "mqtt_ca_file": endpoint.ca_file, "mqtt_cert_file": endpoint.cert_file,
            "mqtt_key_file": endpoint.key_file, "mqtt_insecure_plaintext": endpoint.insecure_plaintext}
