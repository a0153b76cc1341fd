"""Central's settings: where its files live and which broker and port it talks to."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from protocol.mqtt_endpoint import MqttEndpoint, endpoint_from

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
"""The reference data shipped with the package (wards, authorities, stations)."""


@dataclass(frozen=True)
class CentralSettings:
    """Everything central needs to start; defaults run it on one machine against the shipped data."""

    db_path: Path  # the embedded SQLite store (and, by default, the SQLite telemetry store)
    registry_path: Path
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    api_host: str = "127.0.0.1"
    api_port: int = 8080  # 0 = let the OS pick a free port (tests, demo)
    wards_path: Path = DATA_DIR / "hue_wards.geojson"
    authorities_path: Path = DATA_DIR / "authorities.csv"
    stations_path: Path = DATA_DIR / "stations.json"
    ward_tolerance_m: float = 500.0
    client_id: str = "central"
    database_url: str | None = None  # postgresql://user@host:port/db: the store on PostgreSQL instead of db_path
    telemetry_backend: Literal["sqlite", "influx"] = "sqlite"
    telemetry_db_path: Path | None = None  # sqlite backend: defaults to the central database file
    influx_url: str = "http://127.0.0.1:8086"
    influx_bucket: str = "floodmesh"
    influx_org: str = "floodmesh"
    influx_token: str = ""
    deadlines_path: Path = DATA_DIR / "deadlines.json"
    deadline_check_s: float = 30.0  # how often open cases are checked against their deadlines
    api_body_max_bytes: int = 64 * 1024  # larger request bodies are refused with 413 (api/body_limit.py)
    # MQTT identity and TLS (see protocol/mqtt_endpoint.py): central's own broker account.
    mqtt_username: str | None = "central"
    mqtt_password: str | None = None
    mqtt_password_file: Path | None = None  # preferred over mqtt_password: keeps the secret out of env and argv
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    mqtt_insecure_plaintext: bool = False  # explicit opt-out of TLS; never the default
    # A registry made by `floodmesh demo` (derived, throwaway keys) is refused unless this is set.
    allow_demo_registry: bool = False

    def mqtt_endpoint(self) -> MqttEndpoint:
        """How central reaches its broker."""
        return endpoint_from(self.broker_host, self.broker_port, self.mqtt_username, self.mqtt_password,
                             self.mqtt_password_file, self.mqtt_ca_file, self.mqtt_cert_file, self.mqtt_key_file,
                             self.mqtt_insecure_plaintext)
