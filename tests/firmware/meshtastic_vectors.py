"""Client-API byte vectors built with the real ``meshtastic`` protobufs (CPython only).

``meshtastic_vectors.json`` holds their output; test_mesh_link_crosscheck rebuilds them and checks
the file is current, and the MicroPython scenarios check the firmware against the file.
Regenerate: ``.venv/bin/python -m tests.firmware.meshtastic_vectors``.
"""

import json
from pathlib import Path
from typing import Any

from meshtastic.protobuf import mesh_pb2, portnums_pb2

from firmware.mesh_link import PORT

PATH = Path(__file__).with_name("meshtastic_vectors.json")
GATEWAY = 0x0F0F0F0F
PID = 0x12345678


def _vectors_json() -> dict[str, Any]:
    doc = json.loads((Path(__file__).resolve().parents[2] / "protocol/vectors.json").read_text())
    return {v["name"]: v for v in doc["valid"]}


def _to_radio_packet(payload: bytes, pid: int, to: int, channel: int, hop_limit: int, want_ack: bool) -> bytes:
    msg = mesh_pb2.ToRadio()
    p = msg.packet
    p.to = to
    p.channel = channel
    p.id = pid
    p.hop_limit = hop_limit
    p.want_ack = want_ack
    p.decoded.portnum = PORT  # type: ignore[assignment]
    p.decoded.payload = payload
    return msg.SerializeToString()


def from_packet(portnum: int, payload: bytes, **extra: Any) -> bytes:
    msg = mesh_pb2.FromRadio(id=77)
    p = msg.packet
    setattr(p, "from", GATEWAY)
    p.to = 184549377
    p.id = 991
    p.rx_snr = 6.25
    p.rx_rssi = -97
    p.hop_start = 3
    p.hop_limit = 2
    p.decoded.portnum = portnum  # type: ignore[assignment]
    p.decoded.payload = payload
    for k, v in extra.items():
        setattr(p.decoded, k, v)
    return msg.SerializeToString()


def build() -> dict[str, list[dict[str, Any]]]:
    """Every vector: ToRadio the firmware must produce, FromRadio it must understand."""
    v = _vectors_json()
    wl = bytes.fromhex(v["water_level_kim_long"]["hex"])
    ack = bytes.fromhex(v["ack_registered"]["hex"])
    cfg = bytes.fromhex(v["config_interval"]["hex"])
    to_radio = [
        {"name": "packet_broadcast", "args": [wl.hex(), PID, 0xFFFFFFFF, 0, 3, True],
         "hex": _to_radio_packet(wl, PID, 0xFFFFFFFF, 0, 3, True).hex()},
        {"name": "packet_to_gateway", "args": [wl.hex(), 1, GATEWAY, 1, 2, False],
         "hex": _to_radio_packet(wl, 1, GATEWAY, 1, 2, False).hex()},
        {"name": "want_config", "nonce": 0xABCD,
         "hex": mesh_pb2.ToRadio(want_config_id=0xABCD).SerializeToString().hex()},
    ]
    hb = mesh_pb2.ToRadio()
    hb.heartbeat.SetInParent()
    to_radio.append({"name": "heartbeat", "hex": hb.SerializeToString().hex()})
    routing = portnums_pb2.ROUTING_APP
    nak = mesh_pb2.Routing(error_reason=mesh_pb2.Routing.MAX_RETRANSMIT).SerializeToString()
    enc = mesh_pb2.FromRadio()
    setattr(enc.packet, "from", GATEWAY)
    enc.packet.encrypted = b"\x01\x02\x03"
    text = from_packet(portnums_pb2.TEXT_MESSAGE_APP, b"42 ACK")
    from_radio = [
        {"name": "ack_downlink", "hex": from_packet(PORT, ack).hex(), "expect": ["frame", GATEWAY, ack.hex()]},
        {"name": "config_downlink", "hex": from_packet(PORT, cfg).hex(), "expect": ["frame", GATEWAY, cfg.hex()]},
        {"name": "routing_ack", "hex": from_packet(routing, mesh_pb2.Routing().SerializeToString(),
                                                    request_id=PID).hex(), "expect": ["ack", PID, 0]},
        {"name": "routing_nak", "hex": from_packet(routing, nak, request_id=PID).hex(), "expect": ["ack", PID, 5]},
        {"name": "queue_ok", "hex": mesh_pb2.FromRadio(queueStatus=mesh_pb2.QueueStatus(
            res=0, free=15, maxlen=16, mesh_packet_id=PID)).SerializeToString().hex(),
         "expect": ["queued", PID, 0, 15]},
        {"name": "queue_full", "hex": mesh_pb2.FromRadio(queueStatus=mesh_pb2.QueueStatus(
            res=-1, free=0, maxlen=16, mesh_packet_id=PID)).SerializeToString().hex(),
         "expect": ["queued", PID, -1, 0]},
        {"name": "config_complete", "hex": mesh_pb2.FromRadio(config_complete_id=0xABCD).SerializeToString().hex(),
         "expect": ["ready", 0xABCD]},
        {"name": "rebooted", "hex": mesh_pb2.FromRadio(rebooted=True).SerializeToString().hex(),
         "expect": ["rebooted"]},
        {"name": "text_message", "hex": text.hex(), "expect": None},
        {"name": "encrypted_packet", "hex": enc.SerializeToString().hex(), "expect": None},
        {"name": "my_info", "hex": mesh_pb2.FromRadio(my_info=mesh_pb2.MyNodeInfo(my_node_num=0x0B000001))
         .SerializeToString().hex(), "expect": None},
        {"name": "log_record", "hex": mesh_pb2.FromRadio(log_record=mesh_pb2.LogRecord(message="boot"))
         .SerializeToString().hex(), "expect": None},
    ]
    return {"to_radio": to_radio, "from_radio": from_radio}


def render() -> str:
    """The vector file's text."""
    return json.dumps(build(), indent=1) + "\n"


if __name__ == "__main__":
    PATH.write_text(render())
