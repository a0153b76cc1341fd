"""The simulated radio against the real ``meshtastic`` client: TCPInterface and SerialInterface (on a pty)
complete the handshake and see what a real node shows; admin requests, ACK/NAK and PKI behave as on one."""

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from meshtastic.protobuf import admin_pb2, apponly_pb2, channel_pb2, config_pb2, mesh_pb2, portnums_pb2
from meshtastic.serial_interface import SerialInterface
from meshtastic.tcp_interface import TCPInterface
from pubsub import pub

from simulations.meshtastic_radio import (
    ChannelSpec,
    Delivery,
    KnownNode,
    SimulatedMeshtasticRadio,
    default_device_state,
)
from tests.mqtt_peer import wait_until

pytestmark = pytest.mark.integration

RADIO = 0x0F0000AA
SENSOR = KnownNode(0x0A000001, "Kim Long gauge", "KLG", 16.4640, 107.5440, 6, hops_away=2, snr=4.5,
                   last_heard=1_700_000_000)
OFFICER = KnownNode(0x0D000001, "Phu Hoi duty officer", "PH1", 16.4620, 107.5990, public_key=bytes(range(32)))
LOST = 0x0B0000EE  # a node the mesh never reaches
SECONDARY_PSK = bytes(range(100, 132))
PRIMARY = ChannelSpec("", b"\x01")
SECONDARY = ChannelSpec("floodmesh", SECONDARY_PSK)


def _mesh(packet: mesh_pb2.MeshPacket) -> Delivery:
    return Delivery.LOST if packet.to == LOST else Delivery.ACKED


def _radio(link: str = "tcp") -> SimulatedMeshtasticRadio:
    state = default_device_state(RADIO, [PRIMARY, SECONDARY], nodes=[SENSOR, OFFICER])
    return SimulatedMeshtasticRadio(RADIO, link=link, state=state, delivery=_mesh)  # type: ignore[arg-type]


@pytest.fixture
def radio() -> Iterator[SimulatedMeshtasticRadio]:
    r = _radio()
    yield r
    r.close()


@pytest.fixture
def iface(radio: SimulatedMeshtasticRadio) -> Iterator[Any]:
    client = TCPInterface(hostname=radio.host, portNumber=radio.port, timeout=20)
    yield client
    client.close()


def _assert_looks_like_our_node(iface: Any) -> None:
    iface.waitForConfig()
    assert iface.myInfo.my_node_num == RADIO
    assert iface.myInfo.nodedb_count == 3
    assert iface.metadata.hasPKC
    assert iface.metadata.firmware_version.startswith("2.7")
    assert set(iface.nodes) == {"!0f0000aa", "!0a000001", "!0d000001"}
    gauge = iface.nodes["!0a000001"]
    assert (gauge["user"]["longName"], gauge["hopsAway"]) == ("Kim Long gauge", 2)
    assert gauge["position"]["latitude"] == pytest.approx(16.464)
    assert gauge["position"]["longitude"] == pytest.approx(107.544)
    assert base64.b64decode(iface.nodes["!0d000001"]["user"]["publicKey"]) == bytes(range(32))
    local = iface.localNode
    roles = [c.role for c in local.channels]
    assert roles == [channel_pb2.Channel.Role.PRIMARY, channel_pb2.Channel.Role.SECONDARY] + [
        channel_pb2.Channel.Role.DISABLED] * 6
    assert local.channels[0].settings.psk == b"\x01"
    assert local.getChannelByName("floodmesh").settings.psk == SECONDARY_PSK
    assert local.localConfig.lora.modem_preset == config_pb2.Config.LoRaConfig.ModemPreset.LONG_FAST
    assert local.localConfig.lora.hop_limit == 3
    assert len(local.localConfig.security.public_key) == 32
    assert local.moduleConfig.neighbor_info.update_interval == 6 * 3600


def test_tcp_interface_sees_the_node_db_channels_and_config_of_a_real_node(iface: Any) -> None:
    _assert_looks_like_our_node(iface)
    url = iface.localNode.getURL()
    encoded = url.split("#", 1)[1]
    channel_set = apponly_pb2.ChannelSet.FromString(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert [s.name for s in channel_set.settings] == ["", "floodmesh"]
    assert channel_set.lora_config.region == config_pb2.Config.LoRaConfig.RegionCode.SG_923


def test_admin_get_requests_are_answered_with_a_session_key(iface: Any, radio: SimulatedMeshtasticRadio) -> None:
    iface.waitForConfig()
    local = iface.localNode
    local.requestChannels()  # channel by channel through get_channel_request, as the CLI does
    assert local.waitForConfig()
    assert local.getChannelByName("floodmesh").settings.psk == SECONDARY_PSK
    local.getMetadata()  # waits for its answer and raises if none comes
    local.requestConfig(local.localConfig.DESCRIPTOR.fields_by_name["lora"])
    wait_until(lambda: "adminSessionPassKey" in iface.nodesByNum[RADIO], what="the session key of an admin answer")
    naks: list[dict[str, Any]] = []
    iface.sendData(admin_pb2.AdminMessage(get_ringtone_request=True), RADIO, portNum=portnums_pb2.PortNum.ADMIN_APP,
                   wantResponse=True, onResponse=naks.append)
    wait_until(lambda: len(naks) == 1, what="the NAK of a request no module serves")
    assert naks[0]["decoded"]["routing"]["errorReason"] == "NO_RESPONSE"
    assert radio.refused == {"no_response": 1}
    answers: list[dict[str, Any]] = []
    for request in (admin_pb2.AdminMessage(get_config_request=admin_pb2.AdminMessage.ConfigType.LORA_CONFIG),
                    admin_pb2.AdminMessage(get_owner_request=True),
                    admin_pb2.AdminMessage(get_module_config_request=admin_pb2.AdminMessage.ModuleConfigType.MQTT_CONFIG)):
        iface.sendData(request, RADIO, portNum=portnums_pb2.PortNum.ADMIN_APP, wantResponse=True,
                       onResponse=answers.append)
    wait_until(lambda: len(answers) == 3, what="three admin answers")
    raw = [a["decoded"]["admin"]["raw"] for a in answers]
    assert raw[0].get_config_response.lora.region == config_pb2.Config.LoRaConfig.RegionCode.SG_923
    assert raw[1].get_owner_response.id == "!0f0000aa"
    assert raw[2].get_module_config_response.mqtt.root == "msh"
    assert all(len(r.session_passkey) == 8 for r in raw)
    assert len(iface.nodesByNum[RADIO]["adminSessionPassKey"]) == 8
    local.setOwner(long_name="Phu Hoi gateway", short_name="PHGW")
    wait_until(lambda: radio.state.owner.long_name == "Phu Hoi gateway", what="the owner set")


def test_want_ack_gets_the_destinations_ack_or_a_nak_when_the_mesh_loses_it(
    iface: Any, radio: SimulatedMeshtasticRadio,
) -> None:
    iface.waitForConfig()
    acks: list[dict[str, Any]] = []
    iface.sendData(b"reading", SENSOR.num, portNum=portnums_pb2.PortNum.PRIVATE_APP, wantAck=True,
                   onResponse=acks.append, onResponseAckPermitted=True)
    iface.sendText("42 ACK", destinationId=OFFICER.num, wantAck=True, onResponse=iface.localNode.onAckNak)
    iface.waitForAckNak()  # the library's own wait: the onAckNak callback marks the ACK received
    iface.sendData(b"lost", LOST, portNum=portnums_pb2.PortNum.PRIVATE_APP, wantAck=True, onResponse=acks.append)
    wait_until(lambda: len(acks) == 2, what="an ACK and a NAK")
    assert (acks[0]["from"], acks[0]["decoded"]["routing"]["errorReason"]) == (SENSOR.num, "NONE")
    assert (acks[1]["from"], acks[1]["decoded"]["routing"]["errorReason"]) == (RADIO, "MAX_RETRANSMIT")
    texts = [p for p in radio.transmitted if p.decoded.portnum == portnums_pb2.PortNum.TEXT_MESSAGE_APP]
    got = [(p.to, getattr(p, "from"), p.decoded.payload, p.hop_limit) for p in texts]
    assert got == [(OFFICER.num, RADIO, b"42 ACK", 3)]
    assert len(radio.transmitted) == 3  # resent copies of one id are ignored, as the firmware does


def test_broadcasts_are_acked_implicitly_and_refusals_are_naks(iface: Any, radio: SimulatedMeshtasticRadio) -> None:
    iface.waitForConfig()
    got: list[dict[str, Any]] = []
    iface.sendData(b"alert", portNum=portnums_pb2.PortNum.PRIVATE_APP, wantAck=True, onResponse=got.append,
                   onResponseAckPermitted=True)
    iface.sendData(b"x", SENSOR.num, portNum=portnums_pb2.PortNum.PRIVATE_APP, channelIndex=5, wantAck=True,
                   onResponse=got.append)
    iface.sendData(b"secret", SENSOR.num, portNum=portnums_pb2.PortNum.PRIVATE_APP, wantAck=True, pkiEncrypted=True,
                   onResponse=got.append)
    wait_until(lambda: len(got) == 3, what="three answers")
    assert [(g["from"], g["decoded"]["routing"]["errorReason"]) for g in got] == [
        (RADIO, "NONE"), (RADIO, "NO_CHANNEL"), (RADIO, "PKI_UNKNOWN_PUBKEY")]
    assert radio.refused == {"no_channel": 1, "pki_unknown_pubkey": 1}
    assert len(radio.transmitted) == 1


def test_a_pending_delivery_is_acked_when_the_mesh_reports_it(radio: SimulatedMeshtasticRadio, iface: Any) -> None:
    iface.waitForConfig()
    radio.delivery = lambda _p: Delivery.PENDING
    got: list[dict[str, Any]] = []
    sent = iface.sendData(b"sos", SENSOR.num, portNum=portnums_pb2.PortNum.PRIVATE_APP, wantAck=True,
                          onResponse=got.append, onResponseAckPermitted=True)
    wait_until(lambda: len(radio.transmitted) == 1, what="the packet on the air")
    assert got == []
    radio.report_delivery(sent.id, Delivery.ACKED)
    wait_until(lambda: len(got) == 1, what="the late ACK")
    with pytest.raises(KeyError, match="no pending"):
        radio.report_delivery(sent.id, Delivery.ACKED)


def test_a_rebooted_radio_is_configured_again_by_the_client(radio: SimulatedMeshtasticRadio, iface: Any) -> None:
    iface.waitForConfig()
    radio.reboot()
    wait_until(lambda: radio.connected.is_set() and iface.myInfo is not None and iface.myInfo.reboot_count == 1,
               what="the handshake after the reboot")


def test_serial_interface_on_the_pty_completes_the_handshake_and_gets_acks() -> None:
    radio = _radio("pty")
    try:
        client = SerialInterface(devPath=radio.serial_path, timeout=20)
        try:
            _assert_looks_like_our_node(client)
            got: list[dict[str, Any]] = []
            client.sendData(b"reading", SENSOR.num, portNum=portnums_pb2.PortNum.PRIVATE_APP, wantAck=True,
                            onResponse=got.append, onResponseAckPermitted=True)
            wait_until(lambda: len(got) == 1, what="the ACK over the serial port")
            assert got[0]["decoded"]["routing"]["errorReason"] == "NONE"
            heard: list[dict[str, Any]] = []

            def on_text(packet: dict[str, Any], interface: Any) -> None:  # pubsub holds listeners weakly
                heard.append(packet)

            pub.subscribe(on_text, "meshtastic.receive.text")
            radio.inject(OFFICER.num, portnums_pb2.PortNum.TEXT_MESSAGE_APP, b"LIST", pki_public_key=OFFICER.public_key,
                         want_ack=True, rx_time=1_700_000_123)
            wait_until(lambda: len(heard) == 1, what="the officer's text through the serial client")
            pub.unsubscribe(on_text, "meshtastic.receive.text")
            got_text = (heard[0]["pkiEncrypted"], heard[0]["rxTime"], heard[0]["decoded"]["text"])
            assert got_text == (True, 1_700_000_123, "LIST")
            assert [(a.to, a.decoded.request_id) for a in radio.acks_sent] == [(OFFICER.num, heard[0]["id"])]
        finally:
            client.close()
        wait_until(lambda: not radio.connected.is_set(), what="the client's goodbye")
        with pytest.raises(ConnectionError, match="open it"):
            radio.inject(OFFICER.num, portnums_pb2.PortNum.TEXT_MESSAGE_APP, b"LIST")
    finally:
        radio.close()


def test_the_meshtastic_cli_reads_the_radio_over_tcp_and_serial() -> None:
    """The stock ``meshtastic`` command, as an operator would run it against a real node."""
    cli = str(Path(sys.executable).parent / "meshtastic")
    for link in ("tcp", "pty"):
        radio = _radio(link)
        try:
            where = ["--host", f"{radio.host}:{radio.port}"] if link == "tcp" else ["--port", radio.serial_path]
            shown = subprocess.run([cli, *where, "--info", "--get", "lora.region"], capture_output=True, text=True,
                                   timeout=60, check=False)
            assert shown.returncode == 0, shown.stdout + shown.stderr
            assert "Owner: floodmesh gateway radio !0f0000aa (FMGW)" in shown.stdout
            assert '"longName": "Kim Long gauge"' in shown.stdout
            assert 'Index 1: SECONDARY psk=secret { "psk": "' + base64.b64encode(SECONDARY_PSK).decode() in shown.stdout
            assert f"lora.region: {config_pb2.Config.LoRaConfig.RegionCode.SG_923}" in shown.stdout
        finally:
            radio.close()
