"""The gateway's radio path through the real `meshtastic` client against a simulated radio that
speaks Meshtastic's stream protocol over TCP or a serial port (a pty); and `floodmesh gateway` as a
real process on either."""

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodmesh.broker import RunningBroker, settings_fields
from gateway.radio.base import IncomingText, RadioPacket
from gateway.radio.meshtastic_link import MeshtasticRadioLink, tcp_interface_factory
from gateway.service import GatewayService, GatewaySettings
from protocol import frames, topics
from protocol.envelopes import Downlink, Uplink
from protocol.mesh import FLOODMESH_PORTNUM, TEXT_MESSAGE_PORTNUM
from protocol.registry import NodeRecord, NodeRegistry
from simulations.meshtastic_radio import SimulatedMeshtasticRadio
from simulations.meshtastic_radio.radio import MAX_TX_QUEUE
from tests.mqtt_peer import MqttPeer, wait_until

pytestmark = pytest.mark.integration

WARD, GW = "19774", "gw-19774"
BUTTON, KEY = 0x0B000001, b"b" * 16
RADIO_NUM = 0x0F0000AA
OFFICER = 0x0D000001


def _sos(seq: int) -> bytes:
    return frames.encode(frames.Frame(BUTTON, 1, seq, 1_700_000_000, frames.Sos(2, 3)), KEY)


@pytest.fixture
def radio() -> Iterator[SimulatedMeshtasticRadio]:
    r = SimulatedMeshtasticRadio(RADIO_NUM)
    yield r
    r.close()


@pytest.fixture
def central(mosquitto: RunningBroker) -> Iterator[MqttPeer]:
    peer = MqttPeer(mosquitto.endpoint_for_central(), topics.UPLINK_FILTER, "fake-central")
    yield peer
    peer.close()


def test_frames_and_downlinks_cross_the_meshtastic_client(
    tmp_path: Path, mosquitto: RunningBroker, radio: SimulatedMeshtasticRadio, central: MqttPeer
) -> None:
    link = MeshtasticRadioLink(tcp_interface_factory(radio.host, radio.port))
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **settings_fields(mosquitto.add_gateway(WARD, GW)))
    gw = GatewayService(settings, link, NodeRegistry([NodeRecord(BUTTON, "sos_button", KEY, WARD)]))
    gw.start()
    try:
        wait_until(radio.connected.is_set, what="the gateway's radio handshake")
        radio.inject(BUTTON, FLOODMESH_PORTNUM, _sos(1), rssi=-101, snr=4.5)
        radio.inject(0x0B0000FF, TEXT_MESSAGE_PORTNUM, b"42 DONE", to=0xFFFFFFFF)
        wait_until(lambda: len(central.snapshot()) == 1, what="the SOS on MQTT")
        up = Uplink.model_validate_json(central.snapshot()[0][1])
        assert (bytes.fromhex(up.frame), up.rssi, up.snr) == (_sos(1), -101, 4.5)
        # A command on the shared channel proves nothing about its sender: refused, counted, not forwarded.
        wait_until(lambda: gw.stats()["rejected_by_reason"] == {"command_not_direct": 1},
                   what="the channel command refused")
        wait_until(lambda: len(radio.transmitted) == 1, what="the refusal sent back")
        reply = radio.transmitted[0]
        assert (reply.to, reply.decoded.portnum) == (0x0B0000FF, TEXT_MESSAGE_PORTNUM)
        assert reply.decoded.payload.startswith(b"42 DONE refused: send it as a direct message")

        ack = frames.encode(frames.Frame(BUTTON, 5, 1, 0, frames.Ack(1, 1, 7, 1)), KEY)
        central.publish(topics.downlink(WARD, GW, BUTTON), Downlink(node_id=BUTTON, frame=ack.hex()).model_dump_json())
        wait_until(lambda: len(radio.transmitted) == 2, what="the ACK handed to the radio")
        sent = radio.transmitted[1]
        assert (sent.to, sent.decoded.portnum, sent.decoded.payload) == (BUTTON, FLOODMESH_PORTNUM, ack)
    finally:
        gw.stop()


def test_floodmesh_gateway_runs_as_a_process_on_a_tcp_radio(
    tmp_path: Path, mosquitto: RunningBroker, radio: SimulatedMeshtasticRadio, central: MqttPeer
) -> None:
    NodeRegistry([NodeRecord(BUTTON, "sos_button", KEY, WARD)]).save(tmp_path / "nodes.json")
    cmd = [sys.executable, "-m", "floodmesh", "gateway", "--ward", WARD, "--gateway", GW,
           *_gateway_flags(mosquitto), "--radio", f"tcp:{radio.host}:{radio.port}",
           "--registry", str(tmp_path / "nodes.json"), "--outbox", str(tmp_path / "outbox.db")]
    log = (tmp_path / "gateway.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert radio.connected.wait(30), "the gateway process never completed the radio handshake"
        radio.inject(BUTTON, FLOODMESH_PORTNUM, _sos(2))
        wait_until(lambda: len(central.snapshot()) >= 1, timeout_s=30, what="the SOS from the gateway process")
        assert bytes.fromhex(Uplink.model_validate_json(central.snapshot()[0][1]).frame) == _sos(2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_floodmesh_gateway_runs_as_a_process_on_a_serial_radio(
    tmp_path: Path, mosquitto: RunningBroker, central: MqttPeer
) -> None:
    """The SerialInterface path end to end: a pty stands for the USB port; SOS up, central's ACK down."""
    radio = SimulatedMeshtasticRadio(RADIO_NUM, link="pty")
    NodeRegistry([NodeRecord(BUTTON, "sos_button", KEY, WARD)]).save(tmp_path / "nodes.json")
    cmd = [sys.executable, "-m", "floodmesh", "gateway", "--ward", WARD, "--gateway", GW,
           *_gateway_flags(mosquitto), "--radio", radio.address,
           "--registry", str(tmp_path / "nodes.json"), "--outbox", str(tmp_path / "outbox.db")]
    log = (tmp_path / "gateway.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert radio.connected.wait(30), "the gateway process never completed the handshake on the serial port"
        radio.inject(BUTTON, FLOODMESH_PORTNUM, _sos(4), rssi=-108, snr=-3.25)
        wait_until(lambda: len(central.snapshot()) >= 1, timeout_s=30, what="the SOS from the serial radio")
        up = Uplink.model_validate_json(central.snapshot()[0][1])
        assert (bytes.fromhex(up.frame), up.rssi, up.snr) == (_sos(4), -108, -3.25)
        ack = frames.encode(frames.Frame(BUTTON, 5, 2, 0, frames.Ack(1, 4, 8, 1)), KEY)
        central.publish(topics.downlink(WARD, GW, BUTTON), Downlink(node_id=BUTTON, frame=ack.hex()).model_dump_json())
        wait_until(lambda: any(p.decoded.payload == ack for p in radio.transmitted), timeout_s=30,
                   what="the ACK written to the serial radio")
        sent = next(p for p in radio.transmitted if p.decoded.payload == ack)
        assert (sent.to, sent.decoded.portnum, getattr(sent, "from")) == (BUTTON, FLOODMESH_PORTNUM, RADIO_NUM)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        radio.close()


def test_the_link_reconnects_with_backoff_when_the_radio_goes_away() -> None:
    first = SimulatedMeshtasticRadio(RADIO_NUM)
    host, port = first.host, first.port
    got: list[bytes] = []
    link = MeshtasticRadioLink(tcp_interface_factory(host, port), min_backoff_s=0.2, max_backoff_s=1.0)
    link.start(lambda p: got.append(p.frame))
    try:
        assert link.state == "up"
        first.close()  # the radio reboots: connection gone, nothing listening for a while
        wait_until(lambda: link.state == "down", what="the link to notice")
        with pytest.raises(ConnectionError):
            link.send(BUTTON, b"x" * 20)
        second = SimulatedMeshtasticRadio(RADIO_NUM, host, port)
        try:
            wait_until(lambda: link.state == "up" and second.connected.is_set(), timeout_s=30, what="reconnect")
            second.inject(BUTTON, FLOODMESH_PORTNUM, _sos(3))
            wait_until(lambda: got == [_sos(3)], what="packets flowing again")
            assert link.reconnects >= 1
        finally:
            second.close()
    finally:
        link.close()


def test_a_radio_that_is_not_there_at_start_is_retried(tmp_path: Path) -> None:
    from floodmesh.broker import free_port

    port = free_port()
    link = MeshtasticRadioLink(tcp_interface_factory("127.0.0.1", port), min_backoff_s=0.2, max_backoff_s=0.5)
    link.start(lambda p: None)
    try:
        assert link.state == "down"
        radio = SimulatedMeshtasticRadio(RADIO_NUM, "127.0.0.1", port)
        try:
            wait_until(lambda: link.state == "up", timeout_s=30, what="the late radio")
        finally:
            radio.close()
    finally:
        link.close()


def test_packets_handed_over_right_after_the_handshake_are_not_lost(radio: SimulatedMeshtasticRadio) -> None:
    radio.waiting = [(BUTTON, FLOODMESH_PORTNUM, _sos(n)) for n in range(5)]
    got: list[bytes] = []
    link = MeshtasticRadioLink(tcp_interface_factory(radio.host, radio.port))
    link.start(lambda p: got.append(p.frame))
    try:
        wait_until(lambda: len(got) == 5, what="the packets the radio held")
        assert got == [_sos(n) for n in range(5)]
    finally:
        link.close()


def test_pki_proof_and_addressing_of_texts_come_through_the_meshtastic_client(
    radio: SimulatedMeshtasticRadio,
) -> None:
    officer_key = bytes(range(1, 33))
    heard: list[IncomingText] = []
    link = MeshtasticRadioLink(tcp_interface_factory(radio.host, radio.port))
    link.set_text_handler(heard.append)
    link.start(lambda _p: None)
    try:
        assert link.node_num == RADIO_NUM  # from the radio's my_info in the handshake
        radio.inject(OFFICER, TEXT_MESSAGE_PORTNUM, b"42 DONE", pki_public_key=officer_key)
        radio.inject(OFFICER, TEXT_MESSAGE_PORTNUM, b"42 DONE", to=0xFFFFFFFF, channel=1)
        radio.inject(OFFICER, TEXT_MESSAGE_PORTNUM, b"LIST")
        wait_until(lambda: len(heard) == 3, what="three texts")
        assert heard == [
            IncomingText(OFFICER, "42 DONE", RADIO_NUM, pki_encrypted=True, public_key=officer_key, channel=0),
            IncomingText(OFFICER, "42 DONE", 0xFFFFFFFF, pki_encrypted=False, public_key=None, channel=1),
            IncomingText(OFFICER, "LIST", RADIO_NUM, pki_encrypted=False, public_key=None, channel=0),
        ]
        with pytest.raises(ValueError, match="direct messages"):
            radio.inject(OFFICER, TEXT_MESSAGE_PORTNUM, b"42 DONE", to=0xFFFFFFFF, pki_public_key=officer_key)
    finally:
        link.close()


def _gateway_flags(broker: RunningBroker) -> list[str]:
    broker.add_gateway(WARD, GW)
    return broker.cli_args(GW)


@pytest.mark.timeout(60)  # a deadlocked link cannot even be closed: the test would hang, not fail
def test_downlinks_that_fill_the_radios_queue_while_a_frame_arrives_do_not_deadlock_the_link(
    radio: SimulatedMeshtasticRadio,
) -> None:
    # Found by the fault campaign: the meshtastic client waits for room in the radio's TX queue, and only
    # its reader thread makes room (the radio's QueueStatus answers). A sender that waited while holding
    # the link's lock, and a reader that needed that lock to hand over the next frame, left the gateway
    # deaf and mute for good. Here the reader is held on the first frame while the downlinks use up the
    # radio's queue (16), so that the second frame reaches the reader before the radio's answers do.
    got: list[bytes] = []
    in_first, queue_used_up = threading.Event(), threading.Event()

    def on_packet(packet: RadioPacket) -> None:
        got.append(packet.frame)
        if len(got) == 1:
            in_first.set()
            queue_used_up.wait(10)

    link = MeshtasticRadioLink(tcp_interface_factory(radio.host, radio.port))
    link.start(on_packet)
    try:
        wait_until(lambda: link.state == "up", what="the radio handshake")
        link.send(BUTTON, _sos(99))  # the radio's answer tells the client how big its queue is
        wait_until(lambda: link._iface is not None and link._iface.queueStatus is not None,
                   what="the radio's first queue status")
        radio.inject(BUTTON, FLOODMESH_PORTNUM, _sos(0))
        radio.inject(BUTTON, FLOODMESH_PORTNUM, _sos(1))
        assert in_first.wait(10)
        sent = threading.Event()

        def burst() -> None:
            for n in range(MAX_TX_QUEUE + 8):
                if link._iface is not None and link._iface.queueStatus.free <= 0:
                    queue_used_up.set()
                link.send(BUTTON, _sos(100 + n))
            sent.set()

        threading.Thread(target=burst, daemon=True).start()
        wait_until(sent.is_set, timeout_s=30, what="every downlink handed to the radio")
        wait_until(lambda: len(got) == 2, what="the second frame heard")
    finally:
        queue_used_up.set()
        link.close()


def test_a_downlink_waiting_for_room_in_the_radios_queue_does_not_stop_the_radio_being_read() -> None:
    # meshtastic counts the radio's free queue slots itself and, at none, sleeps in sendData until a
    # QueueStatus comes in through the reader. Under 5,000 readings/s the reader fell behind, the count
    # hit zero, and the link's lock held across sendData stopped the reader: the gateway deadlocked.
    aired: list[bytes] = []
    radio = SimulatedMeshtasticRadio(RADIO_NUM, on_transmit=lambda p: aired.append(bytes(p.decoded.payload)))
    got: list[bytes] = []
    link = MeshtasticRadioLink(tcp_interface_factory(radio.host, radio.port))
    link.start(lambda p: got.append(p.frame))
    waiting, room = threading.Event(), threading.Event()
    ack = frames.encode(frames.Frame(BUTTON, 7, 1, 0, frames.Ack(1, 1, 42, 1)), KEY)
    sender = threading.Thread(target=link.send, args=(BUTTON, ack))

    def queue_has_room() -> bool:
        if threading.current_thread() is not sender:
            return True  # the library's own heartbeat (sent from the reader at connect) is not the point
        waiting.set()
        return room.is_set()

    try:
        link._iface._queueHasFreeSpace = queue_has_room  # the client counts the radio's queue full
        sender.start()
        assert waiting.wait(10), "the send never asked for room in the radio's queue"
        radio.inject(BUTTON, FLOODMESH_PORTNUM, _sos(1))
        wait_until(lambda: got == [_sos(1)], what="the SOS read while the downlink waits for room")
        room.set()
        sender.join(10)
        wait_until(lambda: aired == [ack], what="the downlink on the air once there is room")
    finally:
        room.set()
        link.close()
        radio.close()
