"""TelemetryStore on InfluxDB 2 (or anything speaking its v2 write API) through ``influxdb-client``.

Line protocol, one request per ingest batch (chunked at ``batch_size``), second precision on the
sensor's timestamp so a replay overwrites. Designed for dashboard queries::

    river_gauge,station=kim_long,river=Sông\\ Hương,ward=19813,node=0a000001
        level_m=2.345,distance_mm=5655i,battery_pct=90i,qc_flag=1i,alert_rank=2i 1700035200

Tags are what dashboards group and filter by (station, river, ward, node); everything measured is a
field. A failed write raises: central wraps this store in a TelemetryWriter (telemetry_writer.py),
which retries with backoff off the ingest thread and counts what it cannot keep.
"""

from collections.abc import Sequence
from typing import cast

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision

from central.store.telemetry import LevelPoint

MEASUREMENT = "river_gauge"
_SECONDS = cast(WritePrecision, WritePrecision.S)  # the class holds plain str constants


def _tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def line(p: LevelPoint) -> str:
    """One point in InfluxDB line protocol (seconds)."""
    tags = f"station={_tag(p.station_id)},river={_tag(p.river)},ward={_tag(p.ward)},node={p.node_id:08x}"
    fields = [] if p.level_m is None else [f"level_m={p.level_m!r}"]
    fields += [f"distance_mm={p.distance_mm}i", f"battery_pct={p.battery_pct}i", f"qc_flag={p.qc_flag}i",
               f"alert_rank={p.alert_rank}i"]
    return f"{MEASUREMENT},{tags} {','.join(fields)} {p.t}"


class InfluxTelemetryStore:
    """Writes levels to an InfluxDB 2 bucket."""

    name = "influx"

    def __init__(
        self, url: str, bucket: str, org: str = "floodmesh", token: str = "", batch_size: int = 5000,
        timeout_ms: int = 5000,
    ) -> None:
        self._client = InfluxDBClient(url=url, token=token, org=org, timeout=timeout_ms)
        self._api = self._client.write_api(write_options=SYNCHRONOUS)
        self._bucket, self._org, self._batch = bucket, org, batch_size

    def write(self, points: Sequence[LevelPoint]) -> None:
        """Send the points in requests of ``batch_size``; raises if the server does not take one.

        Writing the same points again is harmless (a point with the same series and time replaces
        the old one), so a caller may retry the whole batch.
        """
        lines = [line(p) for p in points]
        for i in range(0, len(lines), self._batch):
            self._api.write(self._bucket, self._org, lines[i : i + self._batch], write_precision=_SECONDS)

    def close(self) -> None:
        """Close the client."""
        self._api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]
