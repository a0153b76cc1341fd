"""What travels on the mesh model: a Meshtastic packet as the flooding logic sees it."""

from dataclasses import dataclass
from typing import Literal

PacketKind = Literal["sos", "telemetry", "status", "text", "app_ack", "routing_ack"]
URGENT_KINDS: frozenset[str] = frozenset({"sos", "app_ack", "routing_ack"})  # never held back by floodmesh


@dataclass(frozen=True)
class Packet:
    """One Meshtastic packet: its id, who made it, for whom (None = broadcast), and its hop budget.

    ``ref`` is the caller's name for what the packet carries (e.g. a floodmesh frame identity), so
    results map back to the scenario's own ledger; ``request_id`` names the packet an ACK answers.
    """

    packet_id: int
    origin: int
    kind: PacketKind
    payload_bytes: int
    hop_start: int
    hop_limit: int
    want_ack: bool = False
    dest: int | None = None
    ref: str = ""
    request_id: int | None = None

    @property
    def key(self) -> tuple[int, int]:
        """The duplicate-suppression key, as the firmware's ``wasSeenRecently``: (origin, id)."""
        return (self.origin, self.packet_id)

    @property
    def hops_taken(self) -> int:
        """Relays this copy went through so far."""
        return self.hop_start - self.hop_limit

    @property
    def urgent(self) -> bool:
        """SOS traffic (and the ACKs that close its loop): exempt from floodmesh's throttles."""
        return self.kind in URGENT_KINDS
