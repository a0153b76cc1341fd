"""The gateway refuses frames it cannot authenticate, with the reason."""

import json
from pathlib import Path

import pytest

from gateway.verifier import FrameVerifier
from protocol import frames
from protocol.registry import NodeRecord, NodeRegistry

pytestmark = pytest.mark.unit

VECTORS = json.loads((Path(__file__).parents[2] / "protocol" / "vectors.json").read_text())


def _registry() -> NodeRegistry:
    reg = NodeRegistry()
    for vec in VECTORS["valid"]:
        kind = "water_level" if vec["frame"]["type"] == "water_level" else "sos_button"
        reg.add(NodeRecord(vec["frame"]["node_id"], kind, bytes.fromhex(vec["key"]), "19774"))
    return reg


def test_every_uplink_vector_verifies() -> None:
    verifier = FrameVerifier(_registry())
    uplinks = [v for v in VECTORS["valid"] if v["frame"]["type"] not in ("ack", "config")]
    for vec in uplinks:
        assert frames.to_fields(verifier.verify(bytes.fromhex(vec["hex"]))) == vec["frame"]


@pytest.mark.parametrize("vec", [v for v in VECTORS["invalid"] if v["name"] != "wrong_key"], ids=lambda v: v["name"])
def test_invalid_vectors_are_refused_with_their_reason(vec: dict[str, str]) -> None:
    with pytest.raises(frames.FrameError) as err:
        FrameVerifier(_registry()).verify(bytes.fromhex(vec["hex"]))
    assert err.value.reason == vec["reason"]


def test_unknown_node_and_downlinks_are_refused() -> None:
    verifier = FrameVerifier(_registry())
    stranger = frames.encode(frames.Frame(0x0C000001, 1, 1, 0, frames.Sos(1, 1)), b"x" * 16)
    with pytest.raises(frames.FrameError, match="unknown_node"):
        verifier.verify(stranger)
    ack = next(v for v in VECTORS["valid"] if v["frame"]["type"] == "ack")
    with pytest.raises(frames.FrameError, match="unexpected_downlink"):
        verifier.verify(bytes.fromhex(ack["hex"]))


def test_a_downlink_answers_only_the_sos_it_names() -> None:
    key = b"k" * 16
    reg = NodeRegistry()
    reg.add(NodeRecord(0x0B000001, "sos_button", key, "19774"))
    verifier = FrameVerifier(reg)
    sos_3 = frames.Frame(0x0B000001, 2, 3, 1_764_000_000, frames.Sos(1, 2))
    sos_4 = frames.Frame(0x0B000001, 2, 4, 1_764_000_001, frames.Sos(1, 2))
    ack_3 = frames.encode(frames.Frame(0x0B000001, 1, 9, 1_764_000_002, frames.Ack(2, 3, 17, 0)), key)
    assert verifier.answers(ack_3, sos_3)
    assert not verifier.answers(ack_3, sos_4), "an older press's ACK must not answer a newer SOS"
    assert not verifier.answers(b"junk", sos_3)
