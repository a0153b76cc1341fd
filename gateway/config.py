"""A ward gateway's settings: where it sits, how it reaches the broker, how it paces the backhaul.

One typed source (protocol/process_settings.py): flags > ``FLOODMESH_*`` environment > TOML file >
defaults. ``GatewaySettings(...)`` (keywords, or the first fields positionally) reads nothing else;
``GatewaySettings.from_sources`` is what ``floodmesh gateway`` uses.
"""

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, field_validator

from gateway.broker_failover import BrokerFailover, parse_brokers
from protocol.mqtt_endpoint import EndpointError, MqttEndpoint, endpoint_from
from protocol.process_settings import ProcessSettings, where_to_set


class GatewaySettings(ProcessSettings):
    """Where a gateway sits and how it reaches central."""

    written_paths: ClassVar[frozenset[str]] = frozenset({"outbox_path"})
    secret_fields: ClassVar[frozenset[str]] = frozenset({"mqtt_password"})

    ward: str
    gateway_id: str
    outbox_path: Path = Path("outbox.db")  # the durable outbox (SQLite)
    broker_host: str = "127.0.0.1"
    broker_port: Annotated[int, Field(ge=1, le=65535)] = 8883  # MQTT over TLS (mqtts)
    # Other brokers of a clustered tier, "HOST:PORT,HOST:PORT": tried in turn, with the same identity
    # and CA, when the current one is unreachable (see gateway/broker_failover.py). Empty: none.
    broker_failover: str = ""
    # Bounded in-flight window: paho loses QoS 1 messages past 65,535 in flight.
    window: Annotated[int, Field(ge=1, le=65535)] = 8000
    # Unacknowledged this long (central down, a broker that lost them) -> publish again.
    retry_s: float = 20.0
    # Past this many stored messages, telemetry is thinned (an SOS is never dropped).
    outbox_capacity: int = 2_000_000
    # Frames per MQTT message while draining a backlog (a lone frame is always sent on its own).
    batch_max: int = 200
    # An SOS central has not acknowledged in this long is handled by the ward itself.
    autonomy_after_s: float = 30.0
    # While connected, the retained status (online, outbox depth, radio link) is published again this often,
    # and at once on a radio link change: central tells a live gateway from a cut-off one by its age.
    status_interval_s: Annotated[float, Field(gt=0)] = 60.0
    # A backhaul that blackholes without closing is noticed within 1.5x this (see mqtt_keepalive_s).
    keepalive_s: Annotated[int, Field(ge=2)] = 30
    # MQTT identity and TLS (see protocol/mqtt_endpoint.py): this gateway's own broker account.
    mqtt_username: str | None = None  # default: the gateway id
    mqtt_password: str | None = Field(default=None, repr=False)
    mqtt_password_file: Path | None = None  # preferred over mqtt_password: keeps the secret out of env and argv
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    mqtt_insecure_plaintext: bool = False  # explicit opt-out of TLS; never the default
    # A registry made by `floodmesh demo` (derived, throwaway keys) is refused unless this is set.
    allow_demo_registry: bool = False
    # What `floodmesh gateway` opens (GatewayService is handed the radio and registry themselves).
    radio: str | None = None  # serial:/dev/ttyUSB0 or tcp:HOST[:PORT]
    registry_path: Path | None = None  # the ward's node registry JSON

    @field_validator("broker_failover", mode="before")
    @classmethod
    def _failover_list(cls, value: object) -> object:
        if isinstance(value, list | tuple):  # a TOML array reads naturally too
            value = ",".join(str(v) for v in value)
        if isinstance(value, str):
            try:
                parse_brokers(value)
            except EndpointError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("radio")
    @classmethod
    def _radio_spec(cls, spec: str | None) -> str | None:
        kind, _, where = (spec or "serial:x").partition(":")
        if kind not in ("serial", "tcp") or not where:
            raise ValueError(f"radio must be serial:/dev/ttyUSB0 or tcp:HOST[:PORT], got {spec!r}")
        return spec

    def mqtt_keepalive_s(self) -> int:
        """The keepalive given to paho so that a half-open link is noticed within 1.5x ``keepalive_s``.

        paho pings once nothing has come in for its keepalive, and gives up when the ping is still
        unanswered one keepalive later: up to twice its keepalive after the link died. Three quarters
        of ``keepalive_s`` keeps that within 1.5x (measured by simulations/faults, backhaul_blackhole).
        """
        return max(1, self.keepalive_s * 3 // 4)

    def mqtt_endpoint(self) -> MqttEndpoint:
        """How this gateway reaches the broker."""
        return endpoint_from(self.broker_host, self.broker_port, self.mqtt_username or self.gateway_id,
                             self.mqtt_password, self.mqtt_password_file, self.mqtt_ca_file, self.mqtt_cert_file,
                             self.mqtt_key_file, self.mqtt_insecure_plaintext)

    def broker_failover_chain(self) -> BrokerFailover:
        """The primary broker, then every ``broker_failover`` broker, with this gateway's identity."""
        return BrokerFailover.from_primary(self.mqtt_endpoint(), parse_brokers(self.broker_failover))

    def problems_at_start(self) -> list[str]:
        """Missing files, no radio or registry, an MQTT endpoint that cannot work."""
        problems = super().problems_at_start()
        for name, example in (("radio", "serial:/dev/ttyUSB0"), ("registry_path", "/data/nodes.json")):
            if getattr(self, name) is None:
                problems.append(f"{name}: required to run a gateway (e.g. {example}): give it with "
                                f"{where_to_set(name)}")
        if not problems:
            try:
                self.mqtt_endpoint()
            except EndpointError as exc:
                problems.append(f"MQTT: {exc} ({where_to_set('mqtt_ca_file')}; or mqtt_insecure_plaintext)")
        return problems
