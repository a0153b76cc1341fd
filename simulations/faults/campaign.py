"""The campaign: traffic through the rig, faults at random moments, and the ledger's verdict.

One rig runs the whole campaign. Traffic never stops except for a drain: buttons are ACKed or resend,
the outbox empties, central catches up, and the ledger is compared with central's store. Faults
that destroy a store on purpose (a damaged outbox or database) first drain and bank the verdict up
to then ("an epoch"): the store set aside then held nothing unacknowledged.
"""

import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from simulations.faults.ledger import EventId, Holdings, Kind, Ledger, Verdict
from simulations.faults.origins import OutboxWatcher, VirtualFleet
from simulations.faults.rig import Rig, RigError, RigTimings, wait_for

log = logging.getLogger(__name__)


class DrainTimeout(RuntimeError):
    """The system did not settle in time: the verdict still tells what is missing."""


@dataclass
class Campaign:
    """A rig with traffic flowing, the ledger its origins fill, and the verdicts and counts so far."""

    workdir: Path
    seed: int
    timings: RigTimings = field(default_factory=RigTimings)
    sigstop_s: float = 3.0
    drain_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.ledger = Ledger()
        self.verdict = Verdict([], [], [], 0, 0)
        self.faults: Counter[str] = Counter()
        self.failures: list[str] = []  # faults whose own check failed (detection too slow, not detected)
        self.measures: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Build the rig, start central and the gateway, start traffic and the outbox watcher."""
        fleet_box: list[VirtualFleet] = []
        self.rig = Rig(self.workdir, lambda p: fleet_box[0].on_transmit(p), self.timings)
        fleet = VirtualFleet(self.rig.registry, self.ledger, self.rng)
        fleet_box.append(fleet)
        fleet.rig = self.rig
        self._fleet = fleet
        self.watcher = OutboxWatcher(self.rig, self.ledger)
        self.rig.start_central()
        self.rig.start_gateway()
        for name, target in (("fleet", fleet.run), ("outbox-watcher", self.watcher.run)):
            thread = threading.Thread(target=target, args=(self._stop,), name=f"faults-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    @property
    def nodes(self) -> VirtualFleet:
        """The virtual nodes."""
        return self._fleet

    def traffic(self, seconds: float) -> None:
        """Let traffic flow for ``seconds``."""
        self._stop.wait(seconds)

    def random_moment(self, longest_s: float = 1.5) -> None:
        """Let traffic flow for a random while (seeded): where a fault lands in the flow."""
        self.traffic(self.rng.uniform(0.05, longest_s))

    def ledger_sent_count(self) -> int:
        """Frames the nodes have sent so far."""
        return sum(len(s) for s in self.ledger.sent.values())

    def measure(self, name: str, value: float) -> None:
        """Keep a number a fault measured (e.g. seconds to notice a half-open link)."""
        self.measures.setdefault(name, []).append(value)

    def fail(self, message: str) -> None:
        """A fault's own check failed: said in the summary and the exit code."""
        log.error("fault check failed: %s", message)
        self.failures.append(message)

    def take_hangs(self) -> None:
        """Processes that ignored a polite stop count as failed fault checks."""
        for message in self.rig.hung:
            self.fail(message)
        self.rig.hung.clear()

    def drain(self) -> Verdict:
        """Quiet the nodes, wait until everything acknowledged is at central, and compare."""
        rig, fleet = self.rig, self.nodes
        pressing, fleet.pressing = fleet.pressing, False
        try:
            deadline = time.monotonic() + self.drain_timeout_s
            held = rig.holdings()
            while time.monotonic() < deadline:
                self.watcher.poll()
                held = rig.holdings()
                if fleet.unanswered() == 0 and rig.outbox_count() == 0 and not self.ledger.compare(held).lost:
                    break
                time.sleep(0.1)
            else:
                log.error("drain timed out after %.0f s: %d SOS unanswered, %d in the outbox, lost so far %s",
                          self.drain_timeout_s, fleet.unanswered(), rig.outbox_count(),
                          self.ledger.compare(held).lost[:5])
                if fleet.unanswered() or rig.outbox_count():
                    # Nothing lost yet, but a button still unanswered or an outbox that does not drain is
                    # a system that stopped working (e.g. a deadlocked radio link): a failed check.
                    self.fail(f"the system did not settle in {self.drain_timeout_s:.0f} s: {fleet.unanswered()} "
                              f"SOS unanswered, {rig.outbox_count()} messages in the outbox")
            return self.ledger.compare(held)
        finally:
            fleet.pressing = pressing

    def quiesce(self, timeout_s: float = 30.0) -> None:
        """With the nodes quiet, wait until the newest frame they sent is at central: the gateway and
        central take frames in order, so nothing sent before it is still on its way (a store about to be
        destroyed on purpose would otherwise take an in-flight item with it, a loss the fault made)."""
        last = None
        while self.nodes.last_new != last:  # again if a step was sending as the nodes went quiet
            last = self.nodes.last_new
            if last is None:
                return
            kind, event = last

            def arrived(kind: Kind = kind, event: EventId = event) -> bool:
                held = self.rig.holdings()
                return event in (held.readings if kind is Kind.READING else held.sos_events)

            try:
                wait_for(arrived, timeout_s, f"the nodes' newest {kind.value} {event} to reach central")
            except RigError as exc:  # it may never come (the radio had no gateway then): go on, said
                log.warning("%s", exc)
                return

    def close_epoch(self) -> Verdict:
        """Drain, bank this epoch's verdict, and start the next epoch with nothing acknowledged."""
        verdict = self.drain()
        self.take_hangs()
        self.verdict = self.verdict.merged(verdict)
        self.ledger.forget_acknowledged()
        return verdict

    def holdings(self) -> Holdings:
        """What central holds now."""
        return self.rig.holdings()

    def stop(self) -> None:
        """Stop traffic and every process."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.rig.close()
