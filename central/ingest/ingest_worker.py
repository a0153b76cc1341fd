"""IngestWorker: the thread that takes uplinks off the UplinkQueue, has them committed, and publishes the answers.

Urgent uplinks (SOS, cancel, case history) are taken alone, ahead of any queued telemetry, and go
through their own small transaction, so a button's ACK never waits for a telemetry batch to be stored.
A telemetry batch already in progress when an SOS arrives stops within ``budget_s`` (the processor
commits what it did and hands the rest back, queued again at the head of the telemetry lane).
Only after a commit are ACKs and app acks published: an app ack always names a durable uplink.
Publishing is a function handed in (paho's publish in service, a list in tests): no MQTT here.
"""

import logging
import threading
from collections.abc import Callable, Sequence

from central.ingest.fault_hook import CrashAt
from central.ingest.processor import BatchResult, UplinkProcessor
from central.ingest.uplink_queue import UplinkQueue

log = logging.getLogger(__name__)

Outgoing = tuple[str, str, bool]  # (topic, payload, retain), published at QoS 1
Publish = Callable[[Sequence[Outgoing]], None]


class IngestWorker:
    """Drains an UplinkQueue on its own thread: urgent uplinks first and alone, then telemetry in batches."""

    def __init__(
        self,
        processor: UplinkProcessor,
        uplinks: UplinkQueue,
        publish: Publish,
        announce: Callable[[], Sequence[Outgoing]] | None = None,
        fault_hook: CrashAt | None = None,
        budget_s: float = 0.005,
    ) -> None:
        self._processor = processor
        self._budget_s = budget_s  # of a telemetry batch once an SOS is waiting
        self._uplinks = uplinks
        self._publish = publish
        self._announce = announce
        self._fault_hook = fault_hook  # None unless a fault campaign asked for a crash
        self._stop = threading.Event()
        self._announce_due = threading.Event()
        self._thread = threading.Thread(target=self._run, name="central-ingest", daemon=True)
        self.batches = self.urgent_batches = self.failed_batches = 0

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Finish the batch in hand and end; what is still queued stays unacknowledged (gateways resend it)."""
        self._stop.set()
        self._uplinks.close()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def announce_soon(self) -> None:
        """Publish ``announce()`` before the next batch (called on every new broker connection)."""
        self._announce_due.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._announce_due.is_set() and self._announce is not None:
                # Retained state (ward directories) again on every connect: the broker may have lost it.
                self._announce_due.clear()
                self._publish(self._announce())
            taken = self._uplinks.take(idle_timeout_s=0.5)
            if taken is None:
                self._processor.housekeeping()  # quiet: nothing waits (and with only SOS, no telemetry batch comes)
                continue
            try:
                # Telemetry yields to an SOS that arrives meanwhile: a few ms of work, a commit, then the SOS.
                yield_to = None if taken.urgent else self._uplinks.urgent_waiting
                result = self._processor.process_batch(taken.uplinks, yield_to, self._budget_s)
            except Exception:
                # Nothing was committed, nothing is acknowledged: the gateways' outboxes will resend.
                self.failed_batches += 1
                log.exception("batch of %d uplinks failed", len(taken.uplinks))
                continue
            self.batches += 1
            self.urgent_batches += taken.urgent
            if self._fault_hook is not None:
                self._fault_hook.reached("after_commit")
            self._publish_result(result)
            if self._fault_hook is not None:
                self._fault_hook.reached("after_publish")
            self._uplinks.requeue(result.left)
            if not taken.urgent and not self._uplinks.urgent_waiting():
                # Between telemetry batches, never before an SOS: the store's housekeeping (SQLite moves its
                # WAL into the database here, so an SOS commit never pays for a checkpoint's fsyncs).
                self._processor.housekeeping()

    def _publish_result(self, result: BatchResult) -> None:
        # ACKs first: the button is waiting; the app ack only lets the gateway forget the uplink.
        # Flood alerts go to each affected ward's alerts topic, for its gateway to broadcast on the mesh.
        outgoing = [*result.downlinks, *result.app_acks, *result.alerts, *result.texts]
        self._publish([(out.topic, out.payload, out.retain) for out in outgoing])
