"""A simulated Meshtastic radio that speaks the real client API (the stream protocol over TCP or a pty).

The gateway's radio path in tests is then the real ``meshtastic`` client library. Modules: ``stream``
(framing), ``device_state`` (what the node stores), ``handshake`` (the config download), ``admin``
(admin get/set requests), ``routing`` (ACK/NAK), ``transport`` (TCP, pty), ``radio`` (the node).
"""

from simulations.meshtastic_radio.device_state import ChannelSpec, DeviceState, KnownNode, default_device_state
from simulations.meshtastic_radio.radio import SimulatedMeshtasticRadio, TransmitHook
from simulations.meshtastic_radio.routing import BROADCAST, Delivery
from simulations.meshtastic_radio.stream import StreamParser, frame_stream

__all__ = [
    "BROADCAST", "ChannelSpec", "Delivery", "DeviceState", "KnownNode", "SimulatedMeshtasticRadio",
    "StreamParser", "TransmitHook", "default_device_state", "frame_stream",
]
