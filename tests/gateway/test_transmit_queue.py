"""Downlinks leave from their own thread, ACKs first: a slow radio never holds up the gateway's worker."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodmesh.broker import RunningBroker, settings_fields
from gateway.radio.base import PacketHandler, TextHandler
from gateway.radio.sim import Air, SimRadioLink
from gateway.radio.transmit_queue import TransmitQueue
from gateway.service import GatewayService, GatewaySettings
from protocol import frames, topics
from protocol.envelopes import Downlink, TextDownlink
from protocol.registry import NodeRecord, NodeRegistry
from tests.mqtt_peer import MqttPeer, wait_until

WARD, GW = "19774", "gw-19774"
SENSOR, BUTTON, OFFICER = 0x0A000001, 0x0B000001, 0x0D000001
KEY_S, KEY_B = b"s" * 16, b"b" * 16
SERIAL_WRITE_S = 0.1  # meshtastic's StreamInterface._writeBytes sleeps this long after every write


def _ack(seq: int) -> bytes:
    return frames.encode(frames.Frame(BUTTON, 7, seq, 0, frames.Ack(1, seq, 42, 1)), KEY_B)


def _config() -> bytes:
    return frames.encode(frames.Frame(SENSOR, 7, 1, 0, frames.Config(60)), KEY_S)


class GatedSerialLink:
    """A radio at the hardware boundary: every write takes ``SERIAL_WRITE_S``, and the first one
    blocks until the test opens the gate (a radio busy writing while more work arrives)."""

    def __init__(self, fail: bool = False) -> None:
        self.state = "up"
        self.written: list[tuple[str, int | None, bytes | str]] = []
        self.writing = threading.Event()
        self.gate = threading.Event()
        self.closed = False
        self._fail = fail

    def start(self, on_packet: PacketHandler) -> None:
        """Nothing is heard on this radio."""

    def set_text_handler(self, handler: TextHandler) -> None:
        """Nothing is heard on this radio."""

    def send(self, node_id: int, frame: bytes) -> None:
        self._write("frame", node_id, frame)

    def send_text(self, node_id: int | None, text: str) -> None:
        self._write("text", node_id, text)

    def close(self) -> None:
        self.closed = True

    def _write(self, what: str, node_id: int | None, data: bytes | str) -> None:
        self.writing.set()
        self.gate.wait(10)
        time.sleep(SERIAL_WRITE_S)  # the serial driver's own pause: the cost being moved off the worker
        if self._fail:
            raise ConnectionError("serial port gone")
        self.written.append((what, node_id, data))


@pytest.mark.unit
def test_acks_go_on_the_air_before_queued_texts_and_config() -> None:
    link = GatedSerialLink()
    tx = TransmitQueue(link)
    tx.send_text(OFFICER, "first text, already being written")
    assert link.writing.wait(5)
    started = time.monotonic()
    for n in range(3):
        tx.send_text(OFFICER, f"text {n}")
    tx.send(SENSOR, _config())
    tx.send(BUTTON, _ack(1))
    tx.send(BUTTON, _ack(2))
    tx.send_text(None, "alert")
    assert time.monotonic() - started < SERIAL_WRITE_S  # seven writes queued in less than one write's time
    link.gate.set()
    wait_until(lambda: len(link.written) == 8, what="everything written")
    assert [data for _w, _n, data in link.written] == [
        "first text, already being written", _ack(1), _ack(2), _config(), "text 0", "text 1", "text 2", "alert",
    ]
    assert tx.counts() == {"downlinks": 3, "texts_relayed": 5, "tx_pending": 0}
    tx.close()
    assert link.closed


@pytest.mark.unit
def test_radio_errors_are_counted_and_the_writer_keeps_going() -> None:
    link = GatedSerialLink(fail=True)
    link.gate.set()
    tx = TransmitQueue(link)
    tx.send(BUTTON, _ack(1))
    tx.send_text(OFFICER, "lost")
    wait_until(lambda: tx.counts().get("texts_failed") == 1, what="both failures counted")
    assert tx.counts() == {"downlinks_failed": 1, "texts_failed": 1, "tx_pending": 0}
    tx.close()


@pytest.mark.unit
def test_close_counts_what_never_went_out_and_refuses_more() -> None:
    link = GatedSerialLink()
    tx = TransmitQueue(link)
    tx.send_text(OFFICER, "being written")
    assert link.writing.wait(5)
    tx.send(BUTTON, _ack(1))
    tx.send_text(OFFICER, "queued")
    closing = threading.Thread(target=tx.close)
    closing.start()
    wait_until(lambda: tx.counts()["tx_pending"] == 3, what="the stop queued ahead of the rest")
    link.gate.set()
    closing.join(10)
    tx.send(BUTTON, _ack(2))
    assert tx.counts() == {"texts_relayed": 1, "downlinks_failed": 2, "texts_failed": 1, "tx_pending": 0}
    assert link.closed


# --- in the gateway ---------------------------------------------------------------------------------


@pytest.fixture
def slow_radio_gateway(tmp_path: Path, mosquitto: RunningBroker) -> Iterator[tuple[GatewayService, GatedSerialLink,
                                                                                   Air]]:
    """A gateway whose radio writes slowly; it hears the mesh through a separate simulated receiver."""
    registry = NodeRegistry([NodeRecord(SENSOR, "water_level", KEY_S, WARD),
                             NodeRecord(BUTTON, "sos_button", KEY_B, WARD)])
    air, link = Air(), GatedSerialLink()
    receiver = SimRadioLink(air, 0x0F000001)
    link.start = receiver.start  # type: ignore[method-assign]  # hears through the air, writes through the slow port
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **settings_fields(mosquitto.add_gateway(WARD, GW)))
    gw = GatewayService(settings, link, registry)
    gw.start()
    wait_until(lambda: gw.stats()["connected"] is True, what="gateway connected")
    yield gw, link, air
    link.gate.set()
    gw.stop()


@pytest.mark.integration
def test_the_worker_handles_1000_packets_while_the_radio_is_busy_writing(
    slow_radio_gateway: tuple[GatewayService, GatedSerialLink, Air], mosquitto: RunningBroker
) -> None:
    gw, link, air = slow_radio_gateway
    central = MqttPeer(mosquitto.endpoint_for_central(), topics.UPLINK_FILTER, "fake-central")
    try:
        central.publish(topics.text_downlink(WARD, GW), TextDownlink(node_id=OFFICER, text="text 0").model_dump_json())
        assert link.writing.wait(10)  # the radio is stuck in its first write
        for n in (1, 2, 3):
            central.publish(topics.text_downlink(WARD, GW),
                            TextDownlink(node_id=OFFICER, text=f"text {n}").model_dump_json())
        ack = Downlink(node_id=BUTTON, frame=_ack(1).hex()).model_dump_json()
        central.publish(topics.downlink(WARD, GW, BUTTON), ack)
        for seq in range(1000):
            reading = frames.Frame(SENSOR, 1, seq, 1_700_000_000 + seq, frames.WaterLevel(5000, 90))
            air.transmit(SENSOR, frames.encode(reading, KEY_S))
        wait_until(lambda: gw.stats().get("stored") == 1000, what="1,000 packets stored while the radio is busy")
        assert gw.stats()["tx_pending"] == 4
        assert link.written == []
        link.gate.set()
        wait_until(lambda: len(link.written) == 5, what="the downlinks written")
        assert [data for _w, _n, data in link.written] == ["text 0", _ack(1), "text 1", "text 2", "text 3"]
        assert gw.stats()["downlinks"] == 1
        assert gw.stats()["texts_relayed"] == 4
    finally:
        central.close()
