"""What one processed batch asks the MQTT side to publish (after its commit), and how it went."""

from dataclasses import dataclass, field

from central.store.telemetry import LevelPoint
from protocol import topics
from protocol.envelopes import AppAck, Refusal


@dataclass(frozen=True)
class Outgoing:
    """One MQTT message to publish at QoS 1."""

    topic: str
    payload: str
    retain: bool = False


@dataclass
class BatchResult:
    """What a processed batch asks the MQTT side to publish, and how it went."""

    downlinks: list[Outgoing] = field(default_factory=list)
    app_acks: list[Outgoing] = field(default_factory=list)
    alerts: list[Outgoing] = field(default_factory=list)  # flood alerts, one per affected ward
    texts: list[Outgoing] = field(default_factory=list)  # text messages to duty officers' radios
    points: list[LevelPoint] = field(default_factory=list)  # readings for the TelemetryStore
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rules_evaluated: int = 0  # readings the flood rules ran on
    left: list[tuple[str, bytes]] = field(default_factory=list)
    """Uplinks of the batch not processed (its time ran out with an SOS waiting): queue them again, first."""


class AckBook:
    """App acks grouped per gateway topic, in arrival order: one AppAck message per gateway per batch."""

    def __init__(self) -> None:
        self._book: dict[str, tuple[list[int], list[Refusal]]] = {}

    def _entry(self, ward: str, gateway: str) -> tuple[list[int], list[Refusal]]:
        return self._book.setdefault(topics.app_ack(ward, gateway), ([], []))

    def durable(self, ward: str, gateway: str, msg_id: int) -> None:
        """``msg_id`` of that gateway is stored (acknowledged once the batch commits)."""
        self._entry(ward, gateway)[0].append(msg_id)

    def refuse(self, ward: str, gateway: str, msg_id: int, reason: str) -> None:
        """``msg_id`` of that gateway will never be accepted: the gateway may forget it."""
        self._entry(ward, gateway)[1].append(Refusal(msg_id=msg_id, reason=reason))

    def messages(self) -> list[Outgoing]:
        """One AppAck per gateway topic."""
        return [
            Outgoing(topic, AppAck(msg_ids=ids, refused=refused).model_dump_json())
            for topic, (ids, refused) in self._book.items()
        ]
