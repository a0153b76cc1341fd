"""The firmware's Meshtastic client-API bytes against the real ``meshtastic`` protobufs (CPython)."""

import random

import pytest
from meshtastic.protobuf import mesh_pb2

from firmware import mesh_link, pb
from firmware.sos_button import SosButton
from firmware.stream import StreamReader, wrap
from firmware.water_level import WaterLevelSensor
from protocol import frames
from tests.firmware import meshtastic_vectors as mv

pytestmark = pytest.mark.unit
KEY = bytes(range(16))


def test_vector_file_is_what_the_real_protobufs_produce() -> None:
    assert mv.PATH.read_text() == mv.render(), "regenerate: python -m tests.firmware.meshtastic_vectors"


@pytest.mark.parametrize("vec", mv.build()["to_radio"], ids=lambda v: v["name"])
def test_to_radio_bytes_equal_the_real_serialisation(vec: dict[str, object]) -> None:
    if vec["name"] == "want_config":
        got = mesh_link.to_radio_want_config(0xABCD)
    elif vec["name"] == "heartbeat":
        got = mesh_link.to_radio_heartbeat()
    else:
        payload, pid, to, channel, hop_limit, want_ack = vec["args"]  # type: ignore[misc]
        got = mesh_link.to_radio_packet(bytes.fromhex(payload), pid, to, channel, hop_limit, want_ack)
    assert got.hex() == vec["hex"]


@pytest.mark.parametrize("vec", mv.build()["from_radio"], ids=lambda v: v["name"])
def test_from_radio_parsed_like_the_real_protobufs(vec: dict[str, object]) -> None:
    ev = mesh_link.parse_from_radio(bytes.fromhex(str(vec["hex"])))
    got = None if ev is None else [x.hex() if isinstance(x, bytes) else x for x in ev]
    assert got == vec["expect"]


def test_sensor_frames_through_the_link_decode_with_meshtastic_and_protocol() -> None:
    w = WaterLevelSensor(0x0A000001, KEY, 3)
    link = mesh_link.MeshLink(first_id=0xFFFFFFFF, to=mv.GATEWAY)
    sent = [link.packet(w.sample(1_700_000_000 + 300 * i, 2350 - i, 80)[0]) for i in range(3)]
    assert [pid for pid, _ in sent] == [0xFFFFFFFF, 1, 2]  # the id wraps past 0, Meshtastic's "unset"
    payloads = StreamReader().feed(b"".join(d for _, d in sent))
    for i, raw in enumerate(payloads):
        msg = mesh_pb2.ToRadio.FromString(raw)
        assert msg.packet.decoded.portnum == mesh_link.PORT
        assert msg.packet.to == mv.GATEWAY
        assert msg.packet.want_ack
        assert msg.packet.hop_limit == 3
        assert msg.packet.id == sent[i][0]
        f = frames.decode(msg.packet.decoded.payload, KEY)
        assert f.event_id == (0x0A000001, 3, i)
        assert f.payload == frames.WaterLevel(2350 - i, 80, 0)


def test_central_ack_in_a_real_from_radio_lights_the_button() -> None:
    button = SosButton(0x0B000001, KEY, 5)
    sos = frames.decode(button.press(0, 1_700_000_000, kind=2), KEY)
    # The frame central's DownlinkEncoder builds (protocol.frames.encode with the node's key)...
    ack = frames.encode(frames.Frame(sos.node_id, 2, 17, 1_700_000_060, frames.Ack(5, sos.seq, 4242, 3)), KEY)
    # ...as the gateway's radio hands it to the button's radio: a FromRadio packet on our port.
    raw = mv.from_packet(mesh_link.PORT, ack)
    link = mesh_link.MeshLink()
    stream = b"noise\x94" + wrap(raw)
    events = [ev for i in range(len(stream)) for ev in link.feed(stream[i : i + 1])]
    assert events == [("frame", mv.GATEWAY, ack)]
    assert button.on_downlink(events[0][2])
    assert (button.led, button.case_number) == ("dispatched", 4242)


def test_garbage_never_raises_anything_but_value_error() -> None:
    rng = random.Random(6)
    valid = [bytes.fromhex(v["hex"]) for v in mv.build()["from_radio"]]
    link = mesh_link.MeshLink()
    for _ in range(3000):
        base = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 4)):
            base[rng.randrange(len(base))] = rng.randrange(256)
        blob = bytes(base[: rng.randint(0, len(base))])
        try:
            mesh_link.parse_from_radio(blob)
        except ValueError:
            pass
        link.feed(wrap(blob))
    assert link.garbage > 0
    with pytest.raises(ValueError, match="truncated"):
        pb.fields(b"\x0a\x05ab")
