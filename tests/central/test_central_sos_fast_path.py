"""An SOS overtakes queued telemetry at central: its ACK goes out before the backlog is processed.

In process, without a broker: uplinks go into the UplinkQueue as paho's callback puts them, and the
IngestWorker publishes into a list. Assertions are on the order of what is published and on what was
still queued at that moment, never on timing.
"""

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from central.geo.ward_locator import WardLocator
from central.ingest.ingest_worker import IngestWorker, Outgoing
from central.ingest.levels import LevelOutcome
from central.ingest.processor import FLUSH_READINGS, UplinkProcessor
from central.ingest.uplink_queue import Taken, UplinkQueue, is_urgent
from central.store.sqlite import SqliteStore
from central.telemetry.stations import Station
from protocol import frames, topics
from protocol.envelopes import AppAck, UplinkBatch, UplinkItem
from protocol.registry import NodeRegistry
from tests.central.central_testkit import (
    BUTTON_ID,
    GATEWAY,
    NOW,
    SENSOR_ID,
    SENSOR_KEY,
    WARD,
    make_uplink,
    vector_hex,
)

BACKLOG = 20_000
SOS_MSG_ID = 1_000_000
ACK_TOPIC = topics.downlink(WARD, GATEWAY, BUTTON_ID)


def telemetry(n: int) -> list[tuple[str, bytes]]:
    """``n`` water-level uplinks of the Kim Long sensor (distinct sequence numbers)."""
    out = []
    for i in range(n):
        frame = frames.Frame(SENSOR_ID, 1, i % 0xFFFF + 1, int(NOW.timestamp()) - n + i, frames.WaterLevel(7000, 90))
        out.append(make_uplink(frames.encode(frame, SENSOR_KEY).hex(), i + 1))
    return out


@dataclass
class Recorder:
    """The publish hook: what was published, and the queue's length when the button's ACK went out."""

    uplinks: UplinkQueue
    published: list[Outgoing] = field(default_factory=list)
    queued_at_ack: int | None = None
    telemetry_acks_before_ack: int | None = None
    acked: threading.Event = field(default_factory=threading.Event)
    first_telemetry_ack: threading.Event = field(default_factory=threading.Event)

    def __call__(self, messages: Sequence[Outgoing]) -> None:
        for topic, payload, retain in messages:
            if topic == ACK_TOPIC and not self.acked.is_set():
                self.queued_at_ack = len(self.uplinks)
                self.telemetry_acks_before_ack = self.telemetry_acks()
                self.acked.set()
            self.published.append((topic, payload, retain))
            if topic == topics.app_ack(WARD, GATEWAY) and SOS_MSG_ID not in AppAck.model_validate_json(payload).msg_ids:
                self.first_telemetry_ack.set()

    def telemetry_acks(self) -> int:
        return sum(1 for topic, _, _ in self.published if topic == topics.app_ack(WARD, GATEWAY))


@pytest.fixture
def processor(
    registry: NodeRegistry, locator: WardLocator, stations: dict[str, Station], sqlite_store: SqliteStore
) -> UplinkProcessor:
    return UplinkProcessor(registry, locator, stations, sqlite_store, clock=lambda: NOW)


@pytest.fixture
def uplinks() -> UplinkQueue:
    return UplinkQueue(batch_max=500, batch_max_bytes=256_000, batch_wait_s=0.02)


@pytest.fixture
def recorder(uplinks: UplinkQueue) -> Recorder:
    return Recorder(uplinks)


@pytest.fixture
def worker(processor: UplinkProcessor, uplinks: UplinkQueue, recorder: Recorder) -> Iterator[IngestWorker]:
    w = IngestWorker(processor, uplinks, recorder)
    yield w
    w.stop()


@pytest.mark.unit
def test_urgent_topics_are_told_apart_by_their_leaf() -> None:
    assert [is_urgent(topics.uplink(WARD, GATEWAY, leaf)) for leaf in ("sos", "sos_cancel", "case_events")] == [
        True, True, True]
    assert [is_urgent(topics.uplink(WARD, GATEWAY, leaf)) for leaf in ("water_level", "batch", "node_status")] == [
        False, False, False]


@pytest.mark.unit
def test_queue_hands_out_an_sos_before_a_full_telemetry_backlog_then_the_backlog_in_order() -> None:
    uplinks = UplinkQueue(batch_max=500, batch_max_bytes=256_000, batch_wait_s=60.0)  # a wait it must cut short
    backlog = telemetry(1200)
    for topic, payload in backlog:
        uplinks.put(topic, payload)
    sos = make_uplink(vector_hex("sos_trapped_no_gps"), SOS_MSG_ID)
    uplinks.put(*sos)
    first = uplinks.take(idle_timeout_s=1.0)
    assert first is not None
    assert (first.urgent, first.uplinks) == (True, [sos])
    uplinks.close()  # no more coming: hand out the rest without waiting for batches to fill
    handed: list[tuple[str, bytes]] = []
    while (taken := uplinks.take(idle_timeout_s=0.0)) is not None:
        assert not taken.urgent
        assert len(taken.uplinks) <= 500
        handed += taken.uplinks
    assert handed == backlog


@pytest.mark.unit
def test_an_sos_cuts_short_the_wait_for_a_telemetry_batch_to_fill() -> None:
    uplinks = UplinkQueue(batch_max=500, batch_max_bytes=256_000, batch_wait_s=600.0)
    uplinks.put(*telemetry(1)[0])
    got: list[object] = []
    taker = threading.Thread(target=lambda: got.append(uplinks.take(idle_timeout_s=600.0)))
    taker.start()
    sos = make_uplink(vector_hex("sos_trapped_no_gps"), SOS_MSG_ID)
    uplinks.put(*sos)
    taker.join(timeout=30)  # far below the 600 s batch wait
    assert not taker.is_alive()
    assert [(t.urgent, t.uplinks) for t in got if isinstance(t, Taken)] == [(True, [sos])]
    assert len(uplinks) == 1  # the reading waits for the next batch


@pytest.mark.unit
def test_sos_is_acked_before_a_queued_backlog_of_20000_readings(
    uplinks: UplinkQueue, recorder: Recorder, worker: IngestWorker, sqlite_store: SqliteStore
) -> None:
    for topic, payload in telemetry(BACKLOG):
        uplinks.put(topic, payload)
    uplinks.put(*make_uplink(vector_hex("sos_trapped_no_gps"), SOS_MSG_ID))
    worker.start()
    assert recorder.acked.wait(30)
    # The ACK was the first thing published, with the whole backlog still queued behind it.
    assert recorder.published[0][0] == ACK_TOPIC
    assert (recorder.queued_at_ack, recorder.telemetry_acks_before_ack) == (BACKLOG, 0)
    sos_app_ack = AppAck.model_validate_json(recorder.published[1][1])
    assert sos_app_ack.msg_ids == [SOS_MSG_ID]  # its own transaction: no reading shares its commit
    worker.stop()
    assert worker.urgent_batches == 1
    assert sqlite_store.stats().sos_cases == 1


@pytest.mark.unit
def test_sos_overtakes_the_backlog_while_the_worker_is_busy_with_it(
    uplinks: UplinkQueue, recorder: Recorder, worker: IngestWorker
) -> None:
    for topic, payload in telemetry(BACKLOG):
        uplinks.put(topic, payload)
    worker.start()
    assert recorder.first_telemetry_ack.wait(30)  # the worker is into the backlog
    batches_when_sos_came = worker.batches
    uplinks.put(*make_uplink(vector_hex("sos_trapped_no_gps"), SOS_MSG_ID))
    assert recorder.acked.wait(30)
    worker.stop()
    # At most the batch in hand when the SOS came was finished first; the rest of the backlog waited.
    assert recorder.telemetry_acks_before_ack is not None
    assert recorder.telemetry_acks_before_ack <= batches_when_sos_came + 1
    assert recorder.queued_at_ack is not None
    assert recorder.queued_at_ack >= BACKLOG - 500 * (batches_when_sos_came + 1)


def _acked_ids(published: Sequence[Outgoing]) -> list[int]:
    return [i for topic, payload, _ in published if topic == topics.app_ack(WARD, GATEWAY)
            for i in AppAck.model_validate_json(payload).msg_ids]


@pytest.mark.unit
def test_a_telemetry_batch_stops_for_a_waiting_sos_and_hands_back_the_rest(
    processor: UplinkProcessor, sqlite_store: SqliteStore
) -> None:
    batch = telemetry(50)
    cut = processor.process_batch(batch, yield_to=lambda: True, budget_s=0.0)
    # One uplink done and committed (its app ack is due), the other 49 handed back untouched, unacknowledged.
    assert cut.left == batch[1:]
    assert [AppAck.model_validate_json(m.payload).msg_ids for m in cut.app_acks] == [[1]]
    assert sqlite_store.stats().readings_stored == 1
    rest = processor.process_batch(cut.left)
    assert (rest.left, rest.accepted, rest.duplicates) == ([], 49, 0)
    assert sqlite_store.stats().readings_stored == 50


@pytest.mark.unit
def test_a_gateways_batch_message_is_cut_between_its_frames_and_the_rest_sent_round_again(
    processor: UplinkProcessor, sqlite_store: SqliteStore
) -> None:
    items = [UplinkItem(msg_id=msg_id, received_at=NOW, frame=json.loads(payload)["frame"])
             for msg_id, (_, payload) in enumerate(telemetry(10), start=1)]
    message = (topics.uplink(WARD, GATEWAY, "batch"),
               UplinkBatch(gateway=GATEWAY, ward=WARD, items=items).model_dump_json().encode())
    cut = processor.process_batch([message], yield_to=lambda: True, budget_s=0.0)
    assert [AppAck.model_validate_json(m.payload).msg_ids for m in cut.app_acks] == [[1]]
    [(topic, payload)] = cut.left
    assert topic == message[0]
    assert [item.msg_id for item in UplinkBatch.model_validate_json(payload).items] == list(range(2, 11))
    rest = processor.process_batch(cut.left)
    assert [AppAck.model_validate_json(m.payload).msg_ids for m in rest.app_acks] == [list(range(2, 11))]
    assert (sqlite_store.stats().readings_stored, sqlite_store.stats().duplicates) == (10, 0)


@pytest.mark.unit
def test_the_rest_of_a_cut_batch_message_is_handed_back_before_the_messages_behind_it(
    processor: UplinkProcessor, sqlite_store: SqliteStore
) -> None:
    # A draining gateway's up/batch message cut after its first frame, with another message queued behind
    # it in the same take: both remainders come back, in order. (The cut message's rest used to be dropped
    # unacknowledged; the gateway resent it after its retry time, behind newer readings, so the flood rules
    # took those readings as late and an alert was decided 40 minutes of readings after its crossing.)
    uplinks = telemetry(12)
    items = [UplinkItem(msg_id=msg_id, received_at=NOW, frame=json.loads(payload)["frame"])
             for msg_id, (_, payload) in enumerate(uplinks[:10], start=1)]
    message = (topics.uplink(WARD, GATEWAY, "batch"),
               UplinkBatch(gateway=GATEWAY, ward=WARD, items=items).model_dump_json().encode())
    behind = uplinks[10:]
    cut = processor.process_batch([message, *behind], yield_to=lambda: True, budget_s=0.0)
    assert [AppAck.model_validate_json(m.payload).msg_ids for m in cut.app_acks] == [[1]]
    (topic, payload), *rest = cut.left
    assert topic == message[0]
    assert [item.msg_id for item in UplinkBatch.model_validate_json(payload).items] == list(range(2, 11))
    assert rest == behind
    processor.process_batch(cut.left)
    assert (sqlite_store.stats().readings_stored, sqlite_store.stats().duplicates) == (12, 0)


@pytest.mark.unit
def test_an_sos_arriving_mid_batch_is_acked_before_the_rest_of_that_batch(
    processor: UplinkProcessor, uplinks: UplinkQueue, recorder: Recorder, sqlite_store: SqliteStore
) -> None:
    # The SOS comes in while the worker is inside a batch of 500 readings (put there by the 10th reading's
    # assessment, as paho's thread would): the batch stops, commits its part, the SOS goes next.
    assess = processor.levels.reading
    calls = [0]

    def reading_then_sos(*args: Any) -> LevelOutcome:
        calls[0] += 1
        if calls[0] == 10:
            uplinks.put(*make_uplink(vector_hex("sos_trapped_no_gps"), SOS_MSG_ID))
        return assess(*args)

    processor.levels.reading = reading_then_sos  # type: ignore[method-assign]
    backlog = telemetry(500)
    for topic, payload in backlog:
        uplinks.put(topic, payload)
    worker = IngestWorker(processor, uplinks, recorder, budget_s=0.0)
    worker.start()
    try:
        assert recorder.acked.wait(30)
        before = recorder.telemetry_acks_before_ack
        assert before == 1  # only the cut part of the batch in hand was committed and acked first
        cut_part = _acked_ids(recorder.published[: next(i for i, m in enumerate(recorder.published)
                                                         if m[0] == ACK_TOPIC)])
        assert 10 <= len(cut_part) < 500
        uplinks.close()
        worker.stop()
    finally:
        worker.stop()
    # Every reading stored and acknowledged exactly once, the SOS among them.
    assert sorted(i for i in _acked_ids(recorder.published) if i != SOS_MSG_ID) == list(range(1, 501))
    stats = sqlite_store.stats()
    assert (stats.readings_stored, stats.duplicates, stats.sos_cases) == (500, 0, 1)


@pytest.mark.unit
def test_readings_stored_in_slices_as_a_batch_goes_count_as_one_batch_does(
    registry: NodeRegistry, locator: WardLocator, stations: dict[str, Station], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 250 readings cross two slices; one with a forged tag between them is refused alone. The store's
    # figures are the same as with the whole batch inserted at its end.
    batch = telemetry(250)
    topic, payload = batch[149]
    forged = json.loads(payload)
    forged["frame"] = forged["frame"][:-2] + ("00" if forged["frame"][-2:] != "00" else "11")
    batch[149] = (topic, json.dumps(forged).encode())
    figures = []
    for slice_size in (FLUSH_READINGS, 10**9):
        monkeypatch.setattr("central.ingest.processor.FLUSH_READINGS", slice_size)
        store = SqliteStore(tmp_path / f"central-{slice_size}.sqlite")
        try:
            result = UplinkProcessor(registry, locator, stations, store, clock=lambda: NOW).process_batch(batch)
            [ack] = [AppAck.model_validate_json(m.payload) for m in result.app_acks]
            assert sorted(ack.msg_ids) == [i for i in range(1, 251) if i != 150]
            assert [r.msg_id for r in ack.refused] == [150]
            stats = store.stats()
        finally:
            store.close()
        assert (stats.readings_stored, stats.duplicates, stats.rejected) == (249, 0, 1)
        figures.append((result.accepted, result.rules_evaluated, stats.rules_evaluated, stats.flagged_by_reason))
    assert figures[0] == figures[1]


@pytest.mark.unit
def test_a_batch_stopped_for_an_sos_has_at_most_one_slice_of_readings_left_to_store_before_its_commit(
    processor: UplinkProcessor, sqlite_store: SqliteStore
) -> None:
    # What the SOS waits for: the readings still staged when the batch stops are inserted in its commit.
    inserted: list[int] = []
    original = SqliteStore.transaction

    def counting(store: SqliteStore) -> Any:
        manager = original(store)
        tx = manager.__enter__()
        insert = tx.insert_readings
        tx.insert_readings = lambda readings: (inserted.append(len(readings)), insert(readings))[1]  # type: ignore[method-assign]
        return _Entered(manager, tx)

    seen = [0]

    def sos_after_350() -> bool:
        seen[0] += 1
        return seen[0] > 350

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SqliteStore, "transaction", counting)
        cut = processor.process_batch(telemetry(500), yield_to=sos_after_350, budget_s=0.0)
    assert sum(inserted) == sqlite_store.stats().readings_stored == 500 - len(cut.left)
    assert max(inserted) <= FLUSH_READINGS
    assert inserted[-1] <= FLUSH_READINGS  # the last insert, done while the SOS waits


@dataclass
class _Entered:
    """A transaction already entered, handed back as a context manager (to count its inserts)."""

    manager: Any
    tx: Any

    def __enter__(self) -> Any:
        return self.tx

    def __exit__(self, *exc: object) -> Any:
        return self.manager.__exit__(*exc)
