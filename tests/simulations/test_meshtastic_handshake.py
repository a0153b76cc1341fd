"""The handshake's order and the admin/routing answers, as pure functions over the node's state."""

import pytest
from meshtastic.protobuf import admin_pb2, mesh_pb2, portnums_pb2

from simulations.meshtastic_radio import ChannelSpec, KnownNode, default_device_state
from simulations.meshtastic_radio.admin import answer_admin
from simulations.meshtastic_radio.handshake import (
    SPECIAL_NONCE_ONLY_CONFIG,
    SPECIAL_NONCE_ONLY_NODES,
    config_sequence,
)
from simulations.meshtastic_radio.routing import Delivery, air_ack, delivery_reply, hop_limit_for_response, refusal

pytestmark = pytest.mark.unit

ME = 0x0F000001
STATE = default_device_state(ME, nodes=[KnownNode(0x0A000001, "gauge", "G1", 16.46, 107.54)])


def _kinds(nonce: int) -> list[str]:
    return [str(m.WhichOneof("payload_variant")) for m in config_sequence(STATE, nonce)]


def test_the_handshake_follows_the_firmwares_state_order() -> None:
    kinds = _kinds(1234)
    # PhoneAPI.cpp: MY_INFO, UIDATA, OWN_NODEINFO, METADATA, CHANNELS, CONFIG, MODULECONFIG, OTHER_NODEINFOS, COMPLETE
    collapsed = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    assert collapsed == ["my_info", "deviceuiConfig", "node_info", "metadata", "channel", "config", "moduleConfig",
                         "node_info", "config_complete_id"]
    assert kinds.count("channel") == 8
    configs = [m.config.WhichOneof("payload_variant") for m in config_sequence(STATE, 1234) if m.HasField("config")]
    assert configs == [
        "device", "position", "power", "network", "display", "lora", "bluetooth", "security", "sessionkey"]
    assert list(config_sequence(STATE, 1234))[-1].config_complete_id == 1234


def test_the_special_nonces_send_config_only_or_nodes_only() -> None:
    assert _kinds(SPECIAL_NONCE_ONLY_CONFIG).count("node_info") == 1  # our own entry only
    only_nodes = ["my_info", "deviceuiConfig", "node_info", "node_info", "config_complete_id"]
    assert _kinds(SPECIAL_NONCE_ONLY_NODES) == only_nodes


def test_a_node_needs_one_to_eight_channels() -> None:
    with pytest.raises(ValueError, match="1 to 8 channels"):
        default_device_state(ME, channels=[ChannelSpec(str(i), b"\x01") for i in range(9)])


def _admin(message: admin_pb2.AdminMessage, want_response: bool = True) -> mesh_pb2.MeshPacket:
    packet = mesh_pb2.MeshPacket(to=ME, id=77)
    packet.decoded.portnum = portnums_pb2.PortNum.ADMIN_APP
    packet.decoded.payload = message.SerializeToString()
    packet.decoded.want_response = want_response
    return packet


def test_get_channel_request_is_the_index_plus_one_and_unknown_requests_are_nakd() -> None:
    reply = answer_admin(STATE, _admin(admin_pb2.AdminMessage(get_channel_request=2)))
    assert reply is not None
    assert reply.decoded.request_id == 77
    answer = admin_pb2.AdminMessage.FromString(reply.decoded.payload)
    assert (answer.get_channel_response.index, answer.get_channel_response.settings.name) == (1, "floodmesh")
    nak = answer_admin(STATE, _admin(admin_pb2.AdminMessage(get_ringtone_request=True)))
    assert nak is not None
    assert nak.decoded.portnum == portnums_pb2.PortNum.ROUTING_APP
    assert mesh_pb2.Routing.FromString(nak.decoded.payload).error_reason == mesh_pb2.Routing.Error.NO_RESPONSE
    assert answer_admin(STATE, _admin(admin_pb2.AdminMessage(get_ringtone_request=True), want_response=False)) is None


def test_an_ack_with_no_error_still_carries_the_error_reason_field() -> None:
    sent = mesh_pb2.MeshPacket(to=0x0A000001, id=5, want_ack=True)
    reply = delivery_reply(STATE, sent, Delivery.ACKED)
    assert reply is not None
    assert getattr(reply, "from") == 0x0A000001
    assert mesh_pb2.Routing.FromString(reply.decoded.payload).WhichOneof("variant") == "error_reason"
    assert delivery_reply(STATE, mesh_pb2.MeshPacket(to=1, id=6), Delivery.ACKED) is None  # no want_ack, no answer


def test_pki_to_the_whole_channel_is_refused() -> None:
    packet = mesh_pb2.MeshPacket(to=0xFFFFFFFF, id=9, pki_encrypted=True)
    assert refusal(STATE, packet) == mesh_pb2.Routing.Error.PKI_FAILED


def test_the_node_acks_a_want_ack_packet_back_over_the_hops_it_came() -> None:
    heard = mesh_pb2.MeshPacket(to=ME, id=31, channel=1, want_ack=True, hop_start=3, hop_limit=2)
    setattr(heard, "from", 0x0B000001)
    ack = air_ack(STATE, heard)
    assert (ack.to, ack.decoded.request_id, ack.channel, ack.hop_limit) == (0x0B000001, 31, 1, 3)
    assert hop_limit_for_response(mesh_pb2.MeshPacket(hop_start=7, hop_limit=2), 3) == 5  # used more: as many
    assert hop_limit_for_response(mesh_pb2.MeshPacket(hop_start=0, hop_limit=0), 3) == 0  # a direct request
    assert hop_limit_for_response(mesh_pb2.MeshPacket(hop_start=3, hop_limit=3), 7) == 2  # zero hops used, +2
