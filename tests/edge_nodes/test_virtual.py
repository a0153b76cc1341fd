"""Virtual nodes run the firmware logic over the simulated air."""

import pytest

from edge_nodes.virtual import VirtualSosButton, VirtualWaterLevelSensor
from gateway.radio.sim import Air
from protocol import frames
from protocol.registry import NodeRecord

pytestmark = pytest.mark.unit

BUTTON = NodeRecord(0x0B000001, "sos_button", b"b" * 16, "19774")
SENSOR = NodeRecord(0x0A000001, "water_level", b"s" * 16, "19813", station_id="kim_long")


def _listen(air: Air) -> list[bytes]:
    heard: list[bytes] = []
    air.attach(0x0F000001, lambda _f, frame: heard.append(frame))
    return heard


def test_button_press_goes_on_air_and_an_ack_lights_registered() -> None:
    air = Air()
    heard = _listen(air)
    button = VirtualSosButton(BUTTON, air)
    button.press(1_700_000_000.0, kind=3, people=5, gps=(16.4, 107.54))
    sos = frames.decode(heard[0], BUTTON.key)
    assert sos.payload == frames.Sos(3, 5, 0, 16_400_000, 107_540_000)
    assert button.led == "sending"

    button.tick(1_700_000_006.0)  # no answer within 5 s: the same bytes again
    assert heard[1] == heard[0]

    ack = frames.Frame(BUTTON.node_id, 9, 1, 0, frames.Ack(sos.boot_epoch, sos.seq, 77, 1))
    air.transmit(0x0F000001, frames.encode(ack, BUTTON.key))
    assert (button.led, button.case_number, button.acks_received) == ("registered", 77, 1)
    button.tick(1_700_000_100.0)
    assert len(heard) == 2


def test_an_ack_with_the_wrong_key_is_ignored() -> None:
    air = Air()
    _listen(air)
    button = VirtualSosButton(BUTTON, air)
    button.press(1_700_000_000.0)
    seq = button._fw.sos_seq
    assert seq is not None
    forged = frames.encode(frames.Frame(BUTTON.node_id, 9, 1, 0, frames.Ack(1, seq, 77, 1)), b"x" * 16)
    air.transmit(0x0F000001, forged)
    assert button.led == "sending"
    assert button.acks_received == 0


def test_sensor_reports_distance_from_its_datum() -> None:
    air = Air()
    heard = _listen(air)
    sensor = VirtualWaterLevelSensor(SENSOR, air, datum_m=8.0, level_at=lambda t: 2.5, interval_s=60)
    sensor.tick(1_700_000_000.0)
    sensor.tick(1_700_000_010.0)  # not due yet
    assert len(heard) == 1
    reading = frames.decode(heard[0], SENSOR.key).payload
    assert isinstance(reading, frames.WaterLevel)
    assert reading.distance_mm == 5500


def test_medical_pattern_and_unanswered_retries_show_on_the_led() -> None:
    air = Air()
    heard = _listen(air)
    button = VirtualSosButton(BUTTON, air)
    button.press(1_700_000_000.0, people=2)
    button.medical(1_700_000_001.0)
    sos = frames.decode(heard[1], BUTTON.key)
    assert sos.payload == frames.Sos(1, 2, 0)
    for t in (6.0, 16.0, 36.0):
        button.tick(1_700_000_001.0 + t)
    assert button.led == "retrying"
    assert heard[-1] == heard[1]
