"""What the gateway takes from the radio: each frame verified against its node's key and the replay
guard, and a button's retry answered from here when the gateway already holds the answer to it."""

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.outbox import InboundFrame
from gateway.radio.base import RadioPacket
from gateway.replay_guard import ReplayGuard
from gateway.verifier import FrameVerifier
from protocol.frames import Frame, FrameError


class RadioIntake:
    """Turns radio packets into frames for the outbox; refusals go to ``reject`` (reason, detail)."""

    def __init__(
        self, verifier: FrameVerifier, guard: ReplayGuard, transmit: Callable[[int, bytes], None],
        counts: Counter[str], reject: Callable[[str, str], None],
    ) -> None:
        self._verifier = verifier
        self._guard = guard
        self._transmit = transmit
        self.counts = counts
        self._reject = reject
        self._last_downlink: dict[int, bytes] = {}

    def remember_downlink(self, node_id: int, frame: bytes) -> None:
        """The last answer sent to ``node_id``: a retry of what it answers is answered from here."""
        self._last_downlink[node_id] = frame

    def take(self, packet: RadioPacket) -> tuple[InboundFrame, Frame] | None:
        """The frame to store and send on, or None (refused and counted, or a repeat answered here)."""
        self.counts["heard"] += 1
        try:
            frame = self._verifier.verify(packet.frame)
        except FrameError as exc:
            self._reject(exc.reason, f"from radio node {packet.from_node:08x}: {exc}")
            return None
        verdict = self._guard.check(*frame.event_id)
        if verdict == "replay":
            self._reject("replay", f"{frame.kind} {frame.event_id} is older than what node {frame.node_id:08x} sent")
            return None
        if verdict == "duplicate" and not self._forward_duplicate(frame):
            return None
        self._guard.accept(*frame.event_id)
        received_at = datetime.now(UTC).isoformat()
        return InboundFrame(frame.node_id, frame.kind, packet.frame, received_at, packet.rssi, packet.snr), frame

    def _forward_duplicate(self, frame: Frame) -> bool:
        """A repeat heard on the mesh or a button's retry: True if it must still go to central.
        A retrying button missed its answer, so it hears the last downlink again from here."""
        self.counts["duplicates"] += 1
        if frame.kind not in ("sos", "sos_cancel"):
            return False
        last = self._last_downlink.get(frame.node_id)
        # Only the answer to this very SOS: an older press's ACK would drop a newer SOS the gateway
        # accepted but could not store (a full disk) and so never sent on.
        if last is not None and (frame.kind != "sos" or self._verifier.answers(last, frame)):
            self._transmit(frame.node_id, last)
            return False
        # No answer to repeat: central's was lost on the way (or has not come yet). Forward the
        # retry; central dedupes it onto the same case and answers again.
        self.counts["retries_forwarded"] += 1
        return True
