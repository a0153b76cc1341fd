"""A ward's traffic: frame sizes are the real codec's, and the load is what WardLoad says."""

import pytest
from meshtastic.protobuf import mesh_pb2

from firmware.mesh_link import PORT
from protocol import frames
from simulations.mesh import model, traffic
from simulations.mesh.topology import graph_topology

pytestmark = pytest.mark.unit
KEY = b"k" * 16


def _data_bytes(payload: frames._Payload) -> int:
    frame = frames.Frame(1, 1, 1, 1, payload)
    return len(mesh_pb2.Data(portnum=PORT, payload=frames.encode(frame, KEY), bitfield=1).SerializeToString())


def test_sizes_are_the_codecs() -> None:
    assert traffic.WATER_LEVEL_BYTES == _data_bytes(frames.WaterLevel(1000, 90))
    assert traffic.SOS_BYTES == _data_bytes(frames.Sos(1, 3))
    assert traffic.SOS_WITH_GPS_BYTES == _data_bytes(frames.Sos(1, 3, 0, 16_400_000, 107_500_000))
    assert model.ACK_BYTES == _data_bytes(frames.Ack(1, 1, 42, 1))
    assert traffic.NODE_STATUS_BYTES == _data_bytes(frames.NodeStatus(90, 100, 0))


def test_sensors_report_on_their_interval_and_officials_write_to_the_gateway() -> None:
    kinds = {1: "gateway", 2: "sensor", 3: "button", 4: "handheld"}
    topo = graph_topology({1: {2, 3, 4}}, kinds=kinds)  # type: ignore[arg-type]
    load = traffic.WardLoad(sensor_interval_s=60, sos_per_button_per_hour=0, official_commands_per_hour=20)
    txs = traffic.ward_traffic(topo, 3600, load, seed=1)
    assert sum(1 for t in txs if t.kind == "telemetry") == 60
    assert not [t for t in txs if t.kind == "sos"]
    commands = [t for t in txs if t.kind == "text"]
    assert commands
    assert all(t.dest == 1 for t in commands)
    assert [t.at_s for t in txs] == sorted(t.at_s for t in txs)
