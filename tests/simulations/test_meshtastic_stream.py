"""The stream framing parser finds protobufs among wake bytes, splits and noise."""

import pytest

from simulations.meshtastic_radio import StreamParser, frame_stream

pytestmark = pytest.mark.unit


def test_wake_bytes_are_skipped_and_messages_split_across_reads_are_joined() -> None:
    parser = StreamParser()
    stream = bytes([0xC3] * 32) + frame_stream(b"first") + frame_stream(b"second")
    got = [m for i in range(0, len(stream), 5) for m in parser.feed(stream[i : i + 5])]
    assert got == [b"first", b"second"]
    assert parser.garbage_bytes == 32


def test_a_false_start_with_an_absurd_length_resynchronises() -> None:
    parser = StreamParser()
    assert parser.feed(bytes([0x94, 0xC3, 0xFF, 0xFF]) + b"noise" + frame_stream(b"ok")) == [b"ok"]
