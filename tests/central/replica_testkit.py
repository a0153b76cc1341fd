"""What the replica tests (Mosquitto $share, JetStream) share: send readings, read what PostgreSQL holds."""

import psycopg

from gateway.radio.sim import Air
from protocol import frames
from protocol.registry import NodeRegistry
from tests.mqtt_peer import wait_until


def stored(url: str, table: str) -> list[tuple[int, int, int]]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(f"SELECT node_id, boot_epoch, seq FROM {table}")]  # type: ignore[misc]  # noqa: S608


def wait_stored(url: str, readings: int) -> None:
    wait_until(lambda: len(stored(url, "readings")) >= readings, what=f"{readings} readings stored")


def send(air: Air, registry: NodeRegistry, first: int, count: int) -> set[tuple[int, int, int]]:
    sensors = [r for r in registry if r.kind == "water_level"]
    sent = set()
    for i in range(first, first + count):
        rec = sensors[i % len(sensors)]
        frame = frames.Frame(rec.node_id, 1, i // len(sensors), 1_764_000_000 + i, frames.WaterLevel(6000, 80))
        air.transmit(rec.node_id, frames.encode(frame, rec.key))
        sent.add(frame.event_id)
    return sent
