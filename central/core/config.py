"""Central's settings: where its files live and which broker and port it talks to.

One typed source (protocol/process_settings.py): flags > ``FLOODMESH_*`` environment > TOML file >
defaults. ``CentralSettings(...)`` with keywords reads nothing else; ``CentralSettings.from_sources``
is what ``floodmesh central`` uses.
"""

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator

from central.ingest.jetstream_uplinks import JetStreamSource, parse_servers
from protocol import topics
from protocol.mqtt_endpoint import EndpointError, MqttEndpoint, endpoint_from
from protocol.process_settings import ProcessSettings, where_to_set

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
"""The reference data shipped with the package (wards, authorities, stations)."""

Port = Annotated[int, Field(ge=1, le=65535)]
ListenPort = Annotated[int, Field(ge=0, le=65535)]  # 0 = let the OS pick a free port


class CentralSettings(ProcessSettings):
    """Everything central needs to start; defaults run it on one machine against the shipped data."""

    written_paths: ClassVar[frozenset[str]] = frozenset({"db_path", "telemetry_db_path"})
    secret_fields: ClassVar[frozenset[str]] = frozenset({"mqtt_password", "influx_token"})

    db_path: Path = Path("central.db")  # the embedded SQLite store (and, by default, the SQLite telemetry store)
    registry_path: Path
    broker_host: str = "127.0.0.1"
    broker_port: Port = 8883  # MQTT over TLS (mqtts)
    api_host: str = "127.0.0.1"
    api_port: ListenPort = 8080  # 0 = let the OS pick a free port (tests, demo)
    wards_path: Path = DATA_DIR / "hue_wards.geojson"
    authorities_path: Path = DATA_DIR / "authorities.csv"
    stations_path: Path = DATA_DIR / "stations.json"
    ward_tolerance_m: float = 500.0
    client_id: str = "central"  # one per replica: a broker disconnects the older of two same-id clients
    # Several central replicas on one PostgreSQL database: the name of their MQTT shared subscription
    # group ($share/<group>/floodmesh/v1/+/+/up/+); each uplink is processed by one replica. None: alone.
    shared_subscription: str | None = None
    # On the NATS broker tier: the nodes' native URLs ("tls://h1:4222,tls://h2:4222"). Central then pulls
    # the uplinks from the JetStream work queue shared by all replicas (same identity and CA as MQTT) and
    # uses MQTT only for its answers. None: uplinks by MQTT subscription.
    nats_servers: str | None = None
    nats_stream_replicas: Annotated[int, Field(ge=1, le=5)] = 3
    database_url: str | None = None  # postgresql://user@host:port/db: the store on PostgreSQL instead of db_path
    # PostgreSQL: most connections the API's reads borrow from central's pool (the ingest writes on one more).
    database_pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    telemetry_backend: Literal["sqlite", "influx"] = "sqlite"
    telemetry_db_path: Path | None = None  # sqlite backend: defaults to the central database file
    influx_url: str = "http://127.0.0.1:8086"
    influx_bucket: str = "floodmesh"
    influx_org: str = "floodmesh"
    influx_token: str = Field(default="", repr=False)
    influx_token_file: Path | None = None  # preferred over influx_token: keeps the secret out of env and argv
    # Points waiting for the time-series store; past this, points are dropped and counted (/api/stats).
    telemetry_queue_points: Annotated[int, Field(ge=1)] = 200_000
    telemetry_flush_s: Annotated[float, Field(ge=0)] = 10.0  # at stop: how long queued points may take to go out
    deadlines_path: Path = DATA_DIR / "deadlines.json"
    deadline_check_s: float = 30.0  # how often open cases are checked against their deadlines
    api_body_max_bytes: int = 64 * 1024  # larger request bodies are refused with 413 (api/body_limit.py)
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses). None by default: a
    # client could otherwise name any address and slip past the per-client login limit.
    api_trusted_proxies: str = ""
    # MQTT identity and TLS (see protocol/mqtt_endpoint.py): central's own broker account.
    mqtt_username: str | None = "central"
    mqtt_password: str | None = Field(default=None, repr=False)
    mqtt_password_file: Path | None = None  # preferred over mqtt_password: keeps the secret out of env and argv
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    mqtt_insecure_plaintext: bool = False  # explicit opt-out of TLS; never the default
    # A registry made by `floodmesh demo` (derived, throwaway keys) is refused unless this is set.
    allow_demo_registry: bool = False
    # Fault campaign only (central/ingest/fault_hook.py): crash at this point of the Nth ingest batch.
    fault_injection_crash_at: Literal["off", "after_commit", "after_publish"] = "off"
    fault_injection_crash_batch: Annotated[int, Field(ge=1)] = 1

    @field_validator("nats_servers")
    @classmethod
    def _nats_urls(cls, spec: str | None) -> str | None:
        if spec is not None:
            parse_servers(spec)
        return spec

    def jetstream_source(self) -> JetStreamSource | None:
        """Where central pulls uplinks from when on the NATS tier (None: MQTT subscription)."""
        if self.nats_servers is None:
            return None
        endpoint = self.mqtt_endpoint()
        return JetStreamSource(parse_servers(self.nats_servers), endpoint.username, endpoint.password,
                               endpoint.ca_file, self.nats_stream_replicas)

    @field_validator("shared_subscription")
    @classmethod
    def _share_group(cls, group: str | None) -> str | None:
        if group is not None:
            try:
                topics.shared(group, topics.UPLINK_FILTER)
            except topics.TopicError as exc:
                raise ValueError(f"{exc}: use a plain name such as 'central'") from exc
        return group

    def mqtt_endpoint(self) -> MqttEndpoint:
        """How central reaches its broker."""
        return endpoint_from(self.broker_host, self.broker_port, self.mqtt_username, self.mqtt_password,
                             self.mqtt_password_file, self.mqtt_ca_file, self.mqtt_cert_file, self.mqtt_key_file,
                             self.mqtt_insecure_plaintext)

    def influx_token_value(self) -> str:
        """The InfluxDB token: the first line of ``influx_token_file`` if given, else ``influx_token``."""
        if self.influx_token_file is not None:
            lines = self.influx_token_file.read_text(encoding="utf-8").splitlines()
            return lines[0].strip() if lines else ""
        return self.influx_token

    def problems_at_start(self) -> list[str]:
        """Missing files, the InfluxDB token the influx backend needs, an MQTT endpoint that cannot work."""
        problems = super().problems_at_start()
        if problems:
            return problems  # a missing file would make the checks below repeat it
        if self.telemetry_backend == "influx":
            try:
                if not self.influx_token_value():
                    problems.append("telemetry_backend=influx needs a token: put it in a file and give "
                                    f"{where_to_set('influx_token_file')}, or set FLOODMESH_INFLUX_TOKEN")
            except OSError as exc:
                problems.append(f"influx_token_file: cannot read {self.influx_token_file} ({exc}): fix its "
                                "permissions or path")
        try:
            self.mqtt_endpoint()
        except EndpointError as exc:
            problems.append(f"MQTT: {exc} ({where_to_set('mqtt_ca_file')}; or mqtt_insecure_plaintext)")
        return problems
