"""The total-queue checker: what was acknowledged to its origin against what central holds.

As in Jepsen's total-queue workload, every item an origin was told is safe is written in the
ledger, and after a full drain the ledger is compared with central's store:

- ``lost``: acknowledged (a button saw its ACK, the gateway's outbox committed the frame, central
  app-acked it) but central does not hold it;
- ``duplicated``: central holds it more than once (two points for one reading, two ``sos`` events
  or two cases for one SOS);
- ``unexpected``: central holds something no origin ever sent.

Pure: the ledger is fed by observers (virtual nodes, an outbox watcher) and compared with a
``Holdings`` snapshot read elsewhere. An item is named by its event identity (node, boot, seq).
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

EventId = tuple[int, int, int]


class Kind(Enum):
    """What an item is: the two promises differ (an SOS is retried by its button, a reading is not)."""

    READING = "reading"
    SOS = "sos"


class Origin(Enum):
    """Who acknowledged an item: the first acknowledgement is enough to make the promise."""

    BUTTON_ACK = "button_ack"
    OUTBOX_COMMIT = "outbox_commit"
    CENTRAL_APP_ACK = "central_app_ack"


@dataclass(frozen=True)
class Holdings:
    """What central holds after the drain: every stored row's event identity, repeats kept."""

    readings: list[EventId]
    sos_events: list[EventId]
    sos_cases: list[EventId]  # the SOS each case was opened for (one row per case)


@dataclass(frozen=True)
class Verdict:
    """The comparison: each list names the items that break the promise."""

    lost: list[tuple[Kind, EventId]]
    duplicated: list[tuple[Kind, EventId]]
    unexpected: list[tuple[Kind, EventId]]
    acknowledged: int
    held: int

    @property
    def clean(self) -> bool:
        """Nothing lost, duplicated or unexpected."""
        return not (self.lost or self.duplicated or self.unexpected)

    def counts(self) -> dict[str, int]:
        """The three totals, for a summary line."""
        return {"lost": len(self.lost), "duplicated": len(self.duplicated), "unexpected": len(self.unexpected)}

    def merged(self, other: "Verdict") -> "Verdict":
        """This verdict and a later epoch's together."""
        # Central's store is compared again at every epoch: an item counts once, however often seen.
        def union(a: list[tuple[Kind, EventId]], b: list[tuple[Kind, EventId]]) -> list[tuple[Kind, EventId]]:
            return sorted(set(a) | set(b), key=lambda item: (item[0].value, item[1]))

        return Verdict(union(self.lost, other.lost), union(self.duplicated, other.duplicated),
                       union(self.unexpected, other.unexpected), self.acknowledged + other.acknowledged,
                       max(self.held, other.held))


@dataclass
class Ledger:
    """Items sent by origins and those acknowledged to them, by kind."""

    sent: dict[Kind, set[EventId]] = field(default_factory=lambda: {k: set() for k in Kind})
    acknowledged: dict[Kind, dict[EventId, Origin]] = field(default_factory=lambda: {k: {} for k in Kind})

    def sent_item(self, kind: Kind, event: EventId) -> None:
        """An origin put ``event`` on the air (acknowledged or not, it may legitimately reach central)."""
        self.sent[kind].add(event)

    def acknowledge(self, kind: Kind, event: EventId, origin: Origin) -> None:
        """``origin`` told the sender ``event`` is safe: from now on central must end up holding it."""
        self.sent[kind].add(event)
        self.acknowledged[kind].setdefault(event, origin)

    def acknowledge_all(self, kind: Kind, events: Iterable[EventId], origin: Origin) -> None:
        """Several acknowledgements by the same origin."""
        for event in events:
            self.acknowledge(kind, event, origin)

    def forget_acknowledged(self) -> None:
        """Start a new epoch: what was acknowledged before was checked already (what was sent stays known)."""
        for acked in self.acknowledged.values():
            acked.clear()

    def is_acknowledged(self, kind: Kind, event: EventId) -> bool:
        """Whether ``event`` was acknowledged by any origin."""
        return event in self.acknowledged[kind]

    def compare(self, held: Holdings) -> Verdict:
        """The verdict after a full drain."""
        readings, sos = Counter(held.readings), Counter(held.sos_events)
        cases = Counter(held.sos_cases)
        lost = [(Kind.READING, e) for e in sorted(self.acknowledged[Kind.READING]) if e not in readings]
        lost += [(Kind.SOS, e) for e in sorted(self.acknowledged[Kind.SOS]) if e not in sos]
        duplicated = [(Kind.READING, e) for e, n in sorted(readings.items()) if n > 1]
        duplicated += [(Kind.SOS, e) for e in sorted(set(sos) | set(cases)) if sos[e] > 1 or cases[e] > 1]
        unexpected = [(Kind.READING, e) for e in sorted(readings) if e not in self.sent[Kind.READING]]
        unexpected += [(Kind.SOS, e) for e in sorted(set(sos) | set(cases)) if e not in self.sent[Kind.SOS]]
        acknowledged = sum(len(a) for a in self.acknowledged.values())
        return Verdict(lost, duplicated, unexpected, acknowledged, len(held.readings) + len(held.sos_events))
