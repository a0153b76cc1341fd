"""CentralService: the IOC process — store, ingest and API started and stopped together."""

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from central.api import create_app
from central.cases import directory
from central.cases.deadlines import Deadlines
from central.cases.watch import DeadlineWatch
from central.core.config import CentralSettings
from central.geo.authorities import load_authorities
from central.geo.ward_locator import WardLocator
from central.ingest.fault_hook import crash_hook
from central.ingest.jetstream_uplinks import JetStreamUplinks
from central.ingest.mqtt_ingest import MqttIngest
from central.ingest.processor import UplinkProcessor, utc_now
from central.store.base import TELEMETRY_DROPPED_PREFIX, CentralStore
from central.store.connect import open_store
from central.store.influx import InfluxTelemetryStore
from central.store.telemetry import TelemetryStore
from central.store.telemetry_sqlite import SqliteTelemetryStore
from central.store.telemetry_writer import TelemetryWriter
from central.telemetry.stations import load_stations
from protocol.envelopes import WardDirectory
from protocol.gc_pauses import freeze_startup_objects
from protocol.registry import NodeRegistry, require_real_keys

log = logging.getLogger(__name__)


def _bind(host: str, port: int) -> socket.socket:
    # Binding before uvicorn starts means port 0 resolves to a real port we can report at once.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class CentralService:
    """Runs central: call start(), read api_url, call stop()."""

    def __init__(self, settings: CentralSettings) -> None:
        self.settings = settings
        self.store: CentralStore | None = None
        self.ingest: MqttIngest | None = None
        self.jetstream: JetStreamUplinks | None = None  # the uplinks' source on the NATS tier
        self.telemetry: TelemetryWriter | None = None
        self.boot_epoch: int | None = None
        self.deadlines: DeadlineWatch | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._end_streams: Callable[[], None] = lambda: None

    def start(self, timeout_s: float = 10.0) -> None:
        """Open the store (new boot epoch), load reference data, start the ingest and the API."""
        s = self.settings
        registry = self._load_registry()  # first: a refused registry must not take a boot epoch
        store = self.store = open_store(s.db_path, s.database_url, s.database_pool_size)
        self.boot_epoch = store.next_boot_epoch()
        authorities = load_authorities(s.authorities_path)
        locator = WardLocator.from_geojson(s.wards_path, authorities, s.ward_tolerance_m)
        directory.install(store, directory.seed(locator, authorities), utc_now())
        stations = load_stations(s.stations_path)
        telemetry = self.telemetry = self._open_telemetry(store)
        processor = UplinkProcessor(
            registry, locator, stations, store,
            boot_epoch=self.boot_epoch, telemetry=telemetry,
            deadlines=Deadlines.load(s.deadlines_path),
        )

        def announce() -> list[tuple[str, str, bool]]:
            return [(*directory.message(WardDirectory.model_validate_json(raw)), True) for raw in store.directories()]

        source = s.jetstream_source()
        ingest = self.ingest = MqttIngest(processor, s.mqtt_endpoint(), s.client_id, announce=announce,
                                          shared_group=s.shared_subscription, subscribe_uplinks=source is None,
                                          fault_hook=crash_hook(s.fault_injection_crash_at,
                                                                s.fault_injection_crash_batch))
        ingest.start()
        if source is not None:
            self.jetstream = JetStreamUplinks(source, ingest.accept)
            self.jetstream.start()
        self.deadlines = DeadlineWatch(processor.check_deadlines, s.deadline_check_s)
        self.deadlines.start()
        app = create_app(
            store, locator, stations, lambda: ingest.connected, lambda: processor.levels.states,
            processor=processor, publish=ingest.publish, body_max_bytes=s.api_body_max_bytes,
        )
        self._end_streams = app.state.live_feed.close  # open dashboard streams would hold the server's exit
        self._serve(app, timeout_s)
        log.info("central up: boot epoch %d, %d nodes, API %s", self.boot_epoch, len(registry), self.api_url)

    def _open_telemetry(self, store: CentralStore) -> TelemetryWriter:
        # Behind its own writer thread: a slow or unreachable time-series server never holds an ACK back.
        s = self.settings
        backend: TelemetryStore
        if s.telemetry_backend == "influx":
            backend = InfluxTelemetryStore(s.influx_url, s.influx_bucket, s.influx_org, s.influx_token_value())
        else:
            backend = SqliteTelemetryStore(s.telemetry_db_path or s.db_path)

        def count_dropped(reason: str, n: int) -> None:
            with store.transaction() as tx:
                tx.bump(TELEMETRY_DROPPED_PREFIX + reason, n)

        return TelemetryWriter(backend, s.telemetry_queue_points, on_dropped=count_dropped)

    def _load_registry(self) -> NodeRegistry:
        path = self.settings.registry_path
        if not path.exists():
            # Central can still show wards and stations; every uplink will be refused as unknown_node.
            log.warning("node registry %s not found; starting with no nodes", path)
            return NodeRegistry()
        registry = NodeRegistry.load(path)  # RegistryError if malformed or readable by other users
        require_real_keys(registry, path, self.settings.allow_demo_registry)
        return registry

    def _serve(self, app: Any, timeout_s: float) -> None:
        s = self.settings
        sock = _bind(s.api_host, s.api_port)
        self._port = int(sock.getsockname()[1])
        proxies = s.api_trusted_proxies.strip()
        config = uvicorn.Config(app, host=s.api_host, port=self._port, log_level="warning", ws="none", lifespan="off",
                                proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="central-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"API server did not start on {s.api_host}:{self._port}")
            time.sleep(0.02)

    @property
    def api_url(self) -> str:
        """Base URL of the running API, e.g. http://127.0.0.1:8080."""
        if self._port is None:
            raise RuntimeError("central is not started")
        return f"http://{self.settings.api_host}:{self._port}"

    def stats(self) -> dict[str, Any]:
        """The same totals as GET /api/stats."""
        if self.store is None:
            raise RuntimeError("central is not started")
        return dataclasses.asdict(self.store.stats())

    def stop(self) -> None:
        """Stop the API, then the ingest (finishing its batch), then close the store."""
        if self._server is not None and self._thread is not None:
            self._end_streams()
            self._server.should_exit = True
            self._thread.join(10.0)
        if self.deadlines is not None:
            self.deadlines.stop()
        if self.jetstream is not None:
            self.jetstream.stop()
            self.jetstream = None
        if self.ingest is not None:
            self.ingest.stop()
        if self.telemetry is not None:
            self.telemetry.close(self.settings.telemetry_flush_s)
        if self.store is not None:
            self.store.close()
        self._server = self._thread = self.ingest = self.store = self.deadlines = None
        self.telemetry = None


def run(settings: CentralSettings) -> None:
    """Start central and block until Ctrl-C (what `floodmesh central` calls)."""
    service = CentralService(settings)
    service.start()
    freeze_startup_objects()  # registry, wards, app: no full GC pass walks them again (protocol/gc_pauses.py)
    print(f"floodmesh central: dashboard {service.api_url}/  (Ctrl-C to stop); log in as a user made by "
          "`floodmesh users add NAME --role operator --password`", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
