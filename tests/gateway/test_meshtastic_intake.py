"""Our port's packets take the fast path out of the ``meshtastic`` client; everything else does not."""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from meshtastic.protobuf import mesh_pb2
from pubsub import pub

from gateway.radio.meshtastic_intake import FramesFirstTCPInterface, StreamFrames, our_packet
from gateway.radio.meshtastic_link import FRAME_TOPIC, MeshtasticRadioLink, tcp_interface_factory
from protocol.frames import T_SOS, T_SOS_CANCEL, T_WATER_LEVEL
from protocol.mesh import FLOODMESH_PORTNUM, TEXT_MESSAGE_PORTNUM
from simulations.meshtastic_radio import SimulatedMeshtasticRadio
from tests.mqtt_peer import wait_until

RADIO_NUM = 0x0F0000AB


def _from_radio(sender: int, portnum: int, payload: bytes, rssi: int = -97, snr: float = 5.5) -> mesh_pb2.FromRadio:
    packet = mesh_pb2.MeshPacket(to=RADIO_NUM, rx_rssi=rssi, rx_snr=snr)
    setattr(packet, "from", sender)
    packet.decoded.portnum = portnum  # type: ignore[assignment,unused-ignore]
    packet.decoded.payload = payload
    return mesh_pb2.FromRadio(packet=packet)


@pytest.mark.unit
def test_a_packet_on_our_port_becomes_the_dict_the_link_reads() -> None:
    assert our_packet(_from_radio(0x0B000001, FLOODMESH_PORTNUM, b"\x01\x02")) == {
        "from": 0x0B000001, "to": RADIO_NUM, "decoded": {"portnum": FLOODMESH_PORTNUM, "payload": b"\x01\x02"},
        "rxRssi": -97, "rxSnr": 5.5,
    }


@pytest.mark.unit
def test_zero_signal_fields_are_absent_as_in_meshtastics_own_dicts() -> None:
    packet = our_packet(_from_radio(0x0B000001, FLOODMESH_PORTNUM, b"x", rssi=0, snr=0.0))
    assert packet is not None
    assert "rxRssi" not in packet
    assert "rxSnr" not in packet


@pytest.mark.unit
@pytest.mark.parametrize(("sender", "portnum"), [(0x0B000001, TEXT_MESSAGE_PORTNUM), (0, FLOODMESH_PORTNUM)])
def test_texts_and_our_own_echo_are_left_to_the_library(sender: int, portnum: int) -> None:
    assert our_packet(_from_radio(sender, portnum, b"42 ACK")) is None
    assert our_packet(mesh_pb2.FromRadio(my_info=mesh_pb2.MyNodeInfo(my_node_num=RADIO_NUM))) is None


class _LibraryReceives:
    """What the library itself publishes on ``meshtastic.receive``, by port."""

    def __init__(self) -> None:
        self.ports: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, packet: dict[str, Any], interface: Any) -> None:
        with self._lock:
            self.ports.append(str((packet.get("decoded") or {}).get("portnum")))


@pytest.fixture
def radio() -> Iterator[SimulatedMeshtasticRadio]:
    r = SimulatedMeshtasticRadio(RADIO_NUM)
    yield r
    r.close()


@pytest.mark.integration
def test_a_burst_of_frames_is_read_whole_in_order_and_past_the_library(radio: SimulatedMeshtasticRadio) -> None:
    library = _LibraryReceives()
    pub.subscribe(library, "meshtastic.receive")
    # Lengths that split across recv chunks; byte 1 (the frame type) says "reading": an SOS would go first.
    frames_in = [bytes([i % 256, T_WATER_LEVEL]) + bytes([i % 256]) * (i % 200) for i in range(3000)]
    got: list[bytes] = []
    link = MeshtasticRadioLink(tcp_interface_factory(radio.host, radio.port))
    texts: list[str] = []
    link.set_text_handler(lambda heard: texts.append(heard.text))
    link.start(lambda p: got.append(p.frame))
    try:
        for i, frame in enumerate(frames_in):
            radio.inject(0x0B000001 + i % 7, FLOODMESH_PORTNUM, frame)
        radio.inject(0x0D000001, TEXT_MESSAGE_PORTNUM, b"LIST")
        wait_until(lambda: len(got) == len(frames_in) and texts == ["LIST"], timeout_s=60,
                   what="every frame and the text")
        assert got == frames_in
        assert library.ports == ["TEXT_MESSAGE_APP"]  # the library saw the text only
    finally:
        link.close()
        pub.unsubscribe(library, "meshtastic.receive")


@pytest.mark.unit
def test_the_stream_splits_into_payloads_across_any_chunking_and_skips_noise() -> None:
    payloads = [bytes([n % 256]) * n for n in (1, 7, 200, 512)]
    stream = b"boot log\r\n" + b"".join(bytes([0x94, 0xC3, len(p) >> 8, len(p) & 0xFF]) + p for p in payloads)
    noisy = bytes([0x94, 0xC3, 0x02, 0x01]) + stream  # a false start: length 513 is over the limit
    for size in (1, 3, 64, len(noisy)):
        splitter = StreamFrames()
        got = [p for i in range(0, len(noisy), size) for p in splitter.feed(noisy[i : i + size])]
        assert got == payloads, f"chunks of {size}"
        assert splitter.skipped_bytes == 2 + 2 + len(b"boot log\r\n")


@pytest.mark.unit
def test_an_sos_read_behind_a_backlog_of_readings_is_handed_over_first() -> None:
    # A reader that fell behind gets hundreds of packets in one read: the SOS and the cancel among
    # them reach the gateway's queue before the readings that came ahead of them on the stream.
    reading, sos, cancel = (bytes([1, t]) + b"frame" for t in (T_WATER_LEVEL, T_SOS, T_SOS_CANCEL))
    stream = [_from_radio(0x0B000001, FLOODMESH_PORTNUM, reading).SerializeToString()] * 300
    stream[150] = _from_radio(0x0C000001, FLOODMESH_PORTNUM, sos).SerializeToString()
    stream[299] = _from_radio(0x0C000002, FLOODMESH_PORTNUM, cancel).SerializeToString()
    reader = FramesFirstTCPInterface.__new__(FramesFirstTCPInterface)  # the reader's dispatch, no socket
    got: list[int] = []

    def heard(packet: dict[str, Any], interface: Any) -> None:
        if interface is reader:
            got.append(packet["from"])

    pub.subscribe(heard, FRAME_TOPIC)
    try:
        reader._handle_all(stream)
    finally:
        pub.unsubscribe(heard, FRAME_TOPIC)
    assert got[:2] == [0x0C000001, 0x0C000002]
    assert got[2:] == [0x0B000001] * 298
