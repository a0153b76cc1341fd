"""Meshtastic's own MQTT uplink: real ServiceEnvelope samples decode, wrong keys are refused."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from meshtastic.protobuf import portnums_pb2

from floodmesh.broker import RunningBroker, settings_fields, start_broker
from gateway.meshtastic_mqtt import (
    DEFAULT_KEY,
    MeshMqttError,
    ServiceEnvelopeIntake,
    build_envelope,
    expand_channel_key,
    parse_topic,
)
from gateway.radio.base import IncomingText, RadioPacket
from gateway.radio.meshtastic_mqtt_link import MeshtasticMqttLink
from gateway.service import GatewayService, GatewaySettings
from protocol import frames, topics
from protocol.envelopes import Uplink
from protocol.mesh import FLOODMESH_PORTNUM, TEXT_MESSAGE_PORTNUM
from protocol.registry import NodeRecord, NodeRegistry
from tests.mqtt_peer import MqttPeer, wait_until

SAMPLES_PATH = Path(__file__).parents[3] / "shared" / "data" / "meshtastic_mqtt_samples" / "samples.json"
SAMPLES: list[dict[str, Any]] = json.loads(SAMPLES_PATH.read_text())["samples"]
KEY = expand_channel_key("AQ==")


def _topic(sample: dict[str, Any]) -> str:
    return str(sample["topic"] or f"msh/VN/2/e/{sample['channel_id']}/{sample['gateway_id']}")


@pytest.mark.unit
def test_channel_key_expansion() -> None:
    assert KEY == DEFAULT_KEY
    assert expand_channel_key("Ag==")[-1] == DEFAULT_KEY[-1] + 1
    assert expand_channel_key("AA==") == b""
    assert expand_channel_key("ABEiM0RVZneImaq7zN3u/w==") == bytes.fromhex("00112233445566778899aabbccddeeff")
    with pytest.raises(ValueError, match="0, 1, 16 or 32 bytes"):
        expand_channel_key("AAAA")


@pytest.mark.unit
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s["sample_id"])
def test_real_samples_decode_to_their_recorded_values(sample: dict[str, Any]) -> None:
    intake = ServiceEnvelopeIntake({sample["channel_id"]: KEY})
    packet, data = intake.envelope(_topic(sample), bytes.fromhex(sample["payload_hex"]))
    assert portnums_pb2.PortNum.Name(data.portnum) == sample["portnum"]
    assert getattr(packet, "from") == sample["decoded"]["packet_header"]["from"]
    if sample["portnum"] == "TEXT_MESSAGE_APP":
        heard = intake.handle(_topic(sample), bytes.fromhex(sample["payload_hex"]))
        # Channel-encrypted only (anyone with the channel key writes any sender): never PKI-authenticated.
        assert heard == IncomingText(getattr(packet, "from"), sample["decoded"]["payload"]["text"], packet.to,
                                     pki_encrypted=False, public_key=None)


@pytest.mark.unit
@pytest.mark.parametrize("sample", [s for s in SAMPLES if s["encrypted_on_wire"]], ids=lambda s: s["sample_id"])
def test_a_wrong_channel_key_is_refused(sample: dict[str, Any]) -> None:
    intake = ServiceEnvelopeIntake({sample["channel_id"]: expand_channel_key("Bw==")})
    with pytest.raises(MeshMqttError) as err:
        intake.envelope(_topic(sample), bytes.fromhex(sample["payload_hex"]))
    assert err.value.reason == "wrong_channel_key"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("msh/VN/2/e/LongFast", b"", "bad_topic"),
        ("msh/VN/2/e/LongFast/!0f0000aa", b"\xff\xff\xff", "bad_envelope"),
        ("msh/VN/2/e/Secret/!0f0000aa", build_envelope("Secret", "!1", b"", 1, 2, 3, 1, b"hi"), "unknown_channel"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(MeshMqttError) as err:
        ServiceEnvelopeIntake({"LongFast": KEY}).handle(topic, payload)
    assert err.value.reason == reason


@pytest.mark.unit
def test_our_frame_round_trips_encrypted() -> None:
    frame = bytes(range(24))
    payload = build_envelope("LongFast", "!0f0000aa", KEY, 0x0B000001, 0x0F0000AA, 77, FLOODMESH_PORTNUM, frame)
    heard = ServiceEnvelopeIntake({"LongFast": KEY}).handle("msh/VN/2/e/LongFast/!0f0000aa", payload)
    assert heard == RadioPacket(frame, 0x0B000001, None, None)
    assert parse_topic("msh/VN/HUE/2/e/LongFast/!0f0000aa").region == "VN/HUE"


WARD, GW, BUTTON, NODE_KEY = "19774", "gw-19774", 0x0B000001, b"b" * 16


@pytest.fixture
def central(mosquitto: RunningBroker) -> Iterator[MqttPeer]:
    peer = MqttPeer(mosquitto.endpoint_for_central(), topics.UPLINK_FILTER, "fake-central")
    yield peer
    peer.close()


@pytest.mark.integration
def test_gateway_takes_frames_from_meshtastic_mqtt(tmp_path: Path, mosquitto: RunningBroker, central: MqttPeer) -> None:
    # The radios' Meshtastic MQTT is their own broker, not floodmesh's (its payloads are sealed with the
    # channel key): a separate anonymous one here, explicitly so, beside floodmesh's secured broker.
    radios_broker = start_broker(tmp_path / "meshtastic-broker", prefer="mosquitto", insecure_plaintext=True)
    link = MeshtasticMqttLink(radios_broker.host, radios_broker.port, "VN", "LongFast", KEY, 0x0F0000AA)
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **settings_fields(mosquitto.add_gateway(WARD, GW)))
    gw = GatewayService(settings, link, NodeRegistry([NodeRecord(BUTTON, "sos_button", NODE_KEY, WARD)]))
    gw.start()
    radio = MqttPeer(radios_broker.endpoint_for(None), "msh/VN/2/e/LongFast/#", "a-radio")
    try:
        wait_until(lambda: link.state == "up", what="link subscribed")
        # Connected to floodmesh's broker too: an SOS heard before that is the ward's to answer alone.
        wait_until(lambda: gw.stats()["connected"] is True, what="gateway connected")
        sos = frames.encode(frames.Frame(BUTTON, 1, 1, 1_700_000_000, frames.Sos(1, 2)), NODE_KEY)
        topic = "msh/VN/2/e/LongFast/!0f0000bb"
        radio.publish(topic, build_envelope("LongFast", "!0f0000bb", KEY, BUTTON, 0xFFFFFFFF, 1,
                                            FLOODMESH_PORTNUM, sos))
        radio.publish(topic, build_envelope("LongFast", "!0f0000bb", KEY, 0x0B0000FF, 0x0F0000AA, 2,
                                            TEXT_MESSAGE_PORTNUM, b"42 ACK"))
        radio.publish(topic, build_envelope("LongFast", "!0f0000bb", expand_channel_key("Bw=="), BUTTON, 0xFFFFFFFF, 3,
                                            FLOODMESH_PORTNUM, sos))
        wait_until(lambda: len(central.snapshot()) == 1, what="the SOS at central")
        assert bytes.fromhex(Uplink.model_validate_json(central.snapshot()[0][1]).frame) == sos
        # The text reached the ward's command handler: a direct message, but MQTT never carries PKI proof.
        wait_until(lambda: gw.stats()["rejected_by_reason"] == {"wrong_channel_key": 1, "command_not_pki": 1},
                   what="wrong key and unauthenticated command counted")
    finally:
        radio.close()
        gw.stop()
        radios_broker.stop()
