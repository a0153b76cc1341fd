"""Known nodes, keys and builders shared by central's tests (plain functions; fixtures live in conftest)."""

import json
from datetime import UTC, datetime
from pathlib import Path

from protocol import frames, topics
from protocol.envelopes import Uplink

SENSOR_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")  # the protocol vectors' keys
BUTTON_KEY = bytes.fromhex("a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1")
SENSOR_ID = 0x0A000001  # water-level sensor at Kim Long (vectors)
BUTTON_ID = 0x0B000042  # SOS button registered in Kim Long ward (vectors)
LOOSE_BUTTON_ID = 0x0B000099  # SOS button with no registered location
WARD, GATEWAY = "19774", "gw-kimlong"
NOW = datetime(2025, 11, 15, 12, 0, tzinfo=UTC)
VECTORS = json.loads((Path(__file__).resolve().parents[2] / "protocol" / "vectors.json").read_text())

def vector_hex(name: str) -> str:
    """The hex of a protocol test vector, valid or invalid."""
    return str(next(v["hex"] for v in VECTORS["valid"] + VECTORS["invalid"] if v["name"] == name))


def encode(payload: frames._Payload, seq: int, node_id: int = BUTTON_ID, key: bytes = BUTTON_KEY) -> str:
    """A frame from a node (boot epoch 1) as lowercase hex."""
    return frames.encode(frames.Frame(node_id, 1, seq, 1_700_000_000 + seq, payload), key).hex()


def make_uplink(
    frame_hex: str, msg_id: int, ward: str = WARD, gateway: str = GATEWAY, kind: str | None = None,
    received_at: datetime = NOW,
) -> tuple[str, bytes]:
    """(topic, payload) as a gateway would publish it; the topic leaf follows the frame type unless given."""
    leaf = kind or frames.TYPE_NAMES.get(int(frame_hex[2:4], 16), "unknown")
    env = Uplink(msg_id=msg_id, gateway=gateway, ward=ward, received_at=received_at, frame=frame_hex)
    return topics.uplink(ward, gateway, leaf), env.model_dump_json().encode()
