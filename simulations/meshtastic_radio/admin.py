"""The node's ``AdminModule``: answers ``AdminMessage`` get-requests addressed to itself, applies setters.

As the firmware does (``src/modules/AdminModule.cpp``): a getter's answer is an ``AdminMessage`` on
``ADMIN_APP`` with ``request_id`` = the request's id and a fresh ``session_passkey`` (which the client
stores and sends back with its setters); ``get_channel_request`` is the channel index + 1. A setter
changes the stored state and, if the client asked for a response, is answered with a routing ACK. A
request no handler serves gets the NAK ``NO_RESPONSE`` when a response was wanted.
"""

import logging
import secrets

from meshtastic.protobuf import admin_pb2, mesh_pb2, portnums_pb2

from simulations.meshtastic_radio.device_state import DeviceState
from simulations.meshtastic_radio.handshake import config_of, module_config_of
from simulations.meshtastic_radio.routing import Error, routing_reply

log = logging.getLogger(__name__)


def answer_admin(state: DeviceState, request: mesh_pb2.MeshPacket) -> mesh_pb2.MeshPacket | None:
    """The packet the node sends back for an admin ``request`` to itself (None: no answer is due)."""
    message = admin_pb2.AdminMessage()
    try:
        message.ParseFromString(request.decoded.payload)
    except Exception:  # the firmware drops an admin payload it cannot decode, with a log line
        log.warning("simulated radio: undecodable AdminMessage (%d bytes) refused", len(request.decoded.payload))
        return routing_reply(state, request, Error.BAD_REQUEST) if request.decoded.want_response else None
    variant = message.WhichOneof("payload_variant")
    response = _getter_response(state, message, variant)
    if response is not None:
        response.session_passkey = secrets.token_bytes(8)
        return _admin_reply(state, request, response)
    if variant is not None and _apply_setter(state, message, variant):
        return routing_reply(state, request, Error.NONE) if request.decoded.want_response else None
    log.info("simulated radio: admin %s not served", variant)
    return routing_reply(state, request, Error.NO_RESPONSE) if request.decoded.want_response else None


def _getter_response(
    state: DeviceState, message: admin_pb2.AdminMessage, variant: str | None,
) -> admin_pb2.AdminMessage | None:
    response = admin_pb2.AdminMessage()
    if variant == "get_channel_request":
        channel = state.channel(message.get_channel_request - 1)
        if channel is None:
            return None
        response.get_channel_response.CopyFrom(channel)
    elif variant == "get_owner_request":
        response.get_owner_response.CopyFrom(state.owner)
    elif variant == "get_config_request":
        config = config_of(state, message.get_config_request)
        if config is None:
            return None
        response.get_config_response.CopyFrom(config)
    elif variant == "get_module_config_request":
        module = module_config_of(state, message.get_module_config_request)
        if module is None:
            return None
        response.get_module_config_response.CopyFrom(module)
    elif variant == "get_device_metadata_request":
        response.get_device_metadata_response.CopyFrom(state.metadata())
    elif variant == "get_canned_message_module_messages_request":
        response.get_canned_message_module_messages_response = ""
    elif variant == "get_device_connection_status_request":
        response.get_device_connection_status_response.serial.is_connected = True
        response.get_device_connection_status_response.serial.baud = 115200
    else:
        return None
    return response


def _apply_setter(state: DeviceState, message: admin_pb2.AdminMessage, variant: str) -> bool:
    if variant == "set_owner":
        for name in ("long_name", "short_name"):
            if getattr(message.set_owner, name):
                setattr(state.owner, name, getattr(message.set_owner, name))
    elif variant == "set_channel":
        if state.channel(message.set_channel.index) is None:
            return False
        state.channels[message.set_channel.index] = message.set_channel
    elif variant == "set_config":
        section = message.set_config.WhichOneof("payload_variant")
        if section is None or section not in state.config.DESCRIPTOR.fields_by_name:
            return False
        getattr(state.config, section).CopyFrom(getattr(message.set_config, section))
    elif variant == "set_module_config":
        section = message.set_module_config.WhichOneof("payload_variant")
        if section is None or section not in state.module_config.DESCRIPTOR.fields_by_name:
            return False
        getattr(state.module_config, section).CopyFrom(getattr(message.set_module_config, section))
    elif variant not in ("begin_edit_settings", "commit_edit_settings"):
        return False
    return True


def _admin_reply(
    state: DeviceState, request: mesh_pb2.MeshPacket, response: admin_pb2.AdminMessage,
) -> mesh_pb2.MeshPacket:
    reply = mesh_pb2.MeshPacket()
    setattr(reply, "from", state.node_num)  # "from" is a Python keyword
    reply.to = state.node_num
    reply.channel = request.channel
    reply.decoded.portnum = portnums_pb2.PortNum.ADMIN_APP
    reply.decoded.request_id = request.id
    reply.decoded.payload = response.SerializeToString()
    return reply
