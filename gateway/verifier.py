"""Frame verification at the gateway: refuse junk on the radio before it costs backhaul."""

from protocol import frames
from protocol.registry import NodeRegistry


class FrameVerifier:
    """Checks a frame's structure and tag against the registered node's key."""

    def __init__(self, registry: NodeRegistry) -> None:
        self._registry = registry

    def verify(self, data: bytes) -> frames.Frame:
        """The authenticated frame, or FrameError with the reason (``unknown_node`` included)."""
        node_id = frames.peek_node_id(data)
        record = self._registry.get(node_id)
        if record is None:
            raise frames.FrameError("unknown_node", f"node {node_id:08x} is not provisioned")
        frame = frames.decode(data, record.key)
        if frame.ftype >= frames.T_ACK:
            raise frames.FrameError("unexpected_downlink", f"{frame.kind} frame heard from node {node_id:08x}")
        return frame

    def answers(self, downlink: bytes, sos: frames.Frame) -> bool:
        """Whether ``downlink`` (a frame central sent to ``sos``'s node) is the ACK of that very SOS."""
        record = self._registry.get(sos.node_id)
        if record is None:
            return False
        try:
            answer = frames.decode(downlink, record.key)
        except frames.FrameError:
            return False
        ack = answer.payload
        return (isinstance(ack, frames.Ack) and ack.sos_seq == sos.seq
                and ack.sos_boot == sos.boot_epoch & 0xFFFF)
