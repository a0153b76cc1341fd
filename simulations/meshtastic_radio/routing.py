"""Routing ACK/NAK for the packets a client hands its radio, as the firmware's routers answer them.

A want_ack packet is answered with a ``ROUTING_APP`` ``Routing`` whose ``request_id`` is the packet's
id: from the destination when it acknowledged (a real ACK), from our own node when a rebroadcast was
heard for a broadcast (an implicit ACK) or when the radio gives up (a NAK with ``error_reason``). The
checks a node makes before it transmits anything are here too (``refusal``): a disabled channel, a
payload over ``DATA_PAYLOAD_LEN``, a PKI packet for a node whose public key it does not know.
``error_reason`` is set even when it is NONE: it is a oneof member, so the client sees it either way.
"""

import enum

from meshtastic.protobuf import channel_pb2, mesh_pb2, portnums_pb2

from simulations.meshtastic_radio.device_state import DeviceState

BROADCAST = 0xFFFFFFFF
Error = mesh_pb2.Routing.Error
NO_CHANNEL, TOO_LARGE = int(Error.NO_CHANNEL), int(Error.TOO_LARGE)
PKI_FAILED, PKI_UNKNOWN_PUBKEY = int(Error.PKI_FAILED), int(Error.PKI_UNKNOWN_PUBKEY)


class Delivery(enum.Enum):
    """What became of a transmitted want_ack packet, as the mesh decides it."""

    ACKED = "acked"  # the destination acknowledged (implicitly, for a broadcast)
    LOST = "lost"  # every retransmission went unanswered: NAK MAX_RETRANSMIT
    PENDING = "pending"  # the caller reports later with ``SimulatedMeshtasticRadio.report_delivery``


def refusal(state: DeviceState, packet: mesh_pb2.MeshPacket) -> int | None:
    """The ``Routing.Error`` a node answers before transmitting ``packet``, or None if it goes out."""
    channel = state.channel(packet.channel)
    if channel is None or channel.role == channel_pb2.Channel.Role.DISABLED:
        return NO_CHANNEL
    if packet.HasField("decoded") and len(packet.decoded.payload) > mesh_pb2.Constants.DATA_PAYLOAD_LEN:
        return TOO_LARGE
    if packet.pki_encrypted and packet.to != state.node_num:
        if packet.to == BROADCAST:
            return PKI_FAILED  # PKI is for direct messages only
        if not (packet.public_key or state.public_key_of(packet.to)):
            return PKI_UNKNOWN_PUBKEY
    return None


def routing_reply(
    state: DeviceState, request: mesh_pb2.MeshPacket, error: int, from_num: int | None = None,
) -> mesh_pb2.MeshPacket:
    """The ``Routing`` packet answering ``request``: from ``from_num`` (default: our own node) to us."""
    reply = mesh_pb2.MeshPacket()
    setattr(reply, "from", state.node_num if from_num is None else from_num)  # "from" is a Python keyword
    reply.to = state.node_num
    reply.channel = request.channel
    reply.priority = mesh_pb2.MeshPacket.Priority.ACK
    reply.decoded.portnum = portnums_pb2.PortNum.ROUTING_APP
    reply.decoded.request_id = request.id
    reply.decoded.payload = mesh_pb2.Routing(error_reason=error).SerializeToString()
    return reply


def delivery_reply(state: DeviceState, sent: mesh_pb2.MeshPacket, delivery: Delivery) -> mesh_pb2.MeshPacket | None:
    """The ACK or NAK a client gets for a transmitted want_ack packet, once its fate is known."""
    if not sent.want_ack or delivery is Delivery.PENDING:
        return None
    if delivery is Delivery.LOST:
        return routing_reply(state, sent, Error.MAX_RETRANSMIT)
    # A broadcast is acknowledged implicitly: our node heard a neighbour rebroadcast it.
    acker = state.node_num if sent.to == BROADCAST else sent.to
    return routing_reply(state, sent, Error.NONE, from_num=acker)


def air_ack(state: DeviceState, heard: mesh_pb2.MeshPacket) -> mesh_pb2.MeshPacket:
    """The ACK a node transmits for a want_ack packet addressed to it (firmware ReliableRouter)."""
    ack = mesh_pb2.MeshPacket()
    setattr(ack, "from", state.node_num)  # "from" is a Python keyword
    ack.to = getattr(heard, "from")
    ack.channel = heard.channel
    ack.priority = mesh_pb2.MeshPacket.Priority.ACK
    ack.hop_limit = hop_limit_for_response(heard, state.config.lora.hop_limit)
    ack.decoded.portnum = portnums_pb2.PortNum.ROUTING_APP
    ack.decoded.request_id = heard.id
    ack.decoded.payload = mesh_pb2.Routing(error_reason=Error.NONE).SerializeToString()
    return ack


def hop_limit_for_response(heard: mesh_pb2.MeshPacket, hop_limit: int) -> int:
    """Hops a response gets (firmware ``RoutingModule::getHopLimitForResponse``): the hops the request
    used, plus two for a way back that may differ, capped at the configured limit unless it used more."""
    if heard.hop_start < heard.hop_limit:
        return hop_limit  # no usable hop count on the request
    used = heard.hop_start - heard.hop_limit
    if used > hop_limit:
        return int(used)
    if heard.hop_start == 0:
        return 0
    return int(used + 2) if used + 2 < hop_limit else hop_limit


def always_delivered(_packet: mesh_pb2.MeshPacket) -> Delivery:
    """The default mesh: every packet reaches its destination on the first try."""
    return Delivery.ACKED
