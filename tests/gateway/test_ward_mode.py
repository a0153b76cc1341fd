"""Autonomous ward mode: cut off from central, the gateway runs the ward's cases with its officials."""

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from edge_nodes.virtual import VirtualSosButton
from floodmesh.broker import RunningBroker, free_port, settings_fields
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from gateway.ward_cases import LOCAL_CASE_FLAG
from gateway.ward_commands import HELP_TEXT
from protocol import topics
from protocol.envelopes import CaseEvents, DutyOfficer, Uplink, WardDirectory
from protocol.registry import NodeRecord, NodeRegistry
from tests.mqtt_peer import MqttPeer, wait_until

pytestmark = pytest.mark.integration

WARD, GW = "19774", "gw-19774"
BUTTON, OFFICER, STRANGER, GATEWAY_RADIO = 0x0B000001, 0x0D000001, 0x0D0000FF, 0x0F000001
OFFICER_KEY = X25519PrivateKey.generate()  # the officer's handheld's PKI keypair, enrolled at the IOC
DIRECTORY = WardDirectory(ward=WARD, authority="UBND Phường Kim Long", officers=[DutyOfficer(
    name="Trần Văn A", role="duty officer", radio_node_id=OFFICER,
    public_key=base64.b64encode(OFFICER_KEY.public_key().public_bytes_raw()).decode())])


class Handheld:
    """A radio on the air: reads texts, sends them as PKI direct messages to the gateway (``say``)."""

    def __init__(self, air: Air, node_id: int, key: X25519PrivateKey | None = None) -> None:
        self.air, self.node_id, self.inbox = air, node_id, []  # type: ignore[var-annotated]
        self.key = key or X25519PrivateKey.generate()
        air.attach_text(node_id, lambda heard: self.inbox.append(heard.text))

    def say(self, text: str) -> None:
        self.air.transmit_text(self.node_id, text, to_id=GATEWAY_RADIO, sender_key=self.key)

    def forge(self, text: str, as_node: int, to_id: int | None = None, pki: bool = False) -> None:
        """Claim another node's number: on the channel (``to_id`` None) or as a direct message."""
        self.air.transmit_text(as_node, text, to_id=to_id, sender_key=self.key if pki else None)


@pytest.fixture
def registry() -> NodeRegistry:
    return NodeRegistry([NodeRecord(BUTTON, "sos_button", b"b" * 16, WARD)])


def _cut_off_gateway(tmp_path: Path, air: Air, registry: NodeRegistry) -> GatewayService:
    # The directory was synced from central before the floods; the backhaul is gone now.
    (tmp_path / "outbox-directory.json").write_text(DIRECTORY.model_dump_json())
    # Nothing listens on that port, so no byte ever crosses it: plaintext is named, and harmless, here.
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", "127.0.0.1", free_port(),
                               mqtt_insecure_plaintext=True)
    gw = GatewayService(settings, SimRadioLink(air, GATEWAY_RADIO), registry)
    gw.start()
    return gw


@pytest.fixture
def cut_off(tmp_path: Path, registry: NodeRegistry) -> Iterator[tuple[GatewayService, Air]]:
    air = Air()
    gw = _cut_off_gateway(tmp_path, air, registry)
    yield gw, air
    gw.stop()


def test_the_ward_answers_an_sos_and_its_officer_runs_the_case(
    cut_off: tuple[GatewayService, Air], registry: NodeRegistry
) -> None:
    gw, air = cut_off
    officer, stranger = Handheld(air, OFFICER, OFFICER_KEY), Handheld(air, STRANGER)
    button = VirtualSosButton(registry.get(BUTTON), air)  # type: ignore[arg-type]
    button.press(1_700_000_000.0, kind=1, people=3, vulnerable=2)

    wait_until(lambda: button.led == "registered", what="the button to hear the ward's answer")
    assert button.case_number == LOCAL_CASE_FLAG | 1
    wait_until(lambda: len(officer.inbox) == 1, what="the case on the officer's radio")
    assert officer.inbox[0].startswith("SOS L1: medical, 3 people (elderly), node 0b000001")
    assert stranger.inbox == []

    stranger.say("L1 DONE")  # a PKI direct message, but from a radio nobody enrolled
    wait_until(lambda: stranger.inbox[-1:] == ["L1 DONE refused: this radio is not enrolled; ask the IOC to enrol it"],
               what="the stranger told why")
    officer.say("L1 ACK")
    wait_until(lambda: button.led == "acknowledged", what="the button to show the officer took it")
    wait_until(lambda: officer.inbox[-1:] == ["L1 acknowledged"], what="the officer's confirmation")
    officer.say("LIST")
    wait_until(lambda: officer.inbox[-1:] == ["L1 medical 3p acknowledged"], what="the list")
    officer.say("what now")
    wait_until(lambda: officer.inbox[-1:] == [HELP_TEXT], what="help")
    officer.say("L1 ACK")
    wait_until(lambda: officer.inbox[-1:] == ["L1: case L1 is acknowledged"], what="a refusal to go backwards")
    assert gw.stats()["rejected_by_reason"] == {"command_key_not_pinned": 1}
    assert len(stranger.inbox) == 1


def test_a_second_press_while_the_case_is_open_is_the_same_case(
    cut_off: tuple[GatewayService, Air], registry: NodeRegistry
) -> None:
    gw, air = cut_off
    officer = Handheld(air, OFFICER, OFFICER_KEY)
    button = VirtualSosButton(registry.get(BUTTON), air)  # type: ignore[arg-type]
    button.press(1_700_000_000.0, kind=2, people=5)
    wait_until(lambda: button.led == "registered", what="the first press answered")
    first_ack = button.acks_received
    button.press(1_700_000_300.0, kind=2, people=5)  # five minutes on, nobody has come yet
    wait_until(lambda: button.acks_received > first_ack, what="the second press answered")
    assert button.case_number == LOCAL_CASE_FLAG | 1  # the same case, not L2
    assert len(officer.inbox) == 1  # the officer was told once
    assert gw.stats()["local_cases"] == 1


def test_the_wards_history_reaches_central_when_the_backhaul_returns(
    tmp_path: Path, mosquitto: RunningBroker, registry: NodeRegistry
) -> None:
    air = Air()
    gw = _cut_off_gateway(tmp_path, air, registry)
    officer = Handheld(air, OFFICER, OFFICER_KEY)
    button = VirtualSosButton(registry.get(BUTTON), air)  # type: ignore[arg-type]
    button.press(1_700_000_000.0, kind=2, people=5)
    wait_until(lambda: len(officer.inbox) == 1, what="the local case")
    officer.say("L1 ACK")
    wait_until(lambda: button.led == "acknowledged", what="acknowledged locally")
    gw.stop()

    central = MqttPeer(mosquitto.endpoint_for_central(), topics.UPLINK_FILTER, "fake-central")
    back = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **settings_fields(mosquitto.add_gateway(WARD, GW)))
    gw = GatewayService(back, SimRadioLink(air, GATEWAY_RADIO), registry)
    gw.start()
    try:
        wait_until(lambda: len(central.snapshot()) >= 3, what="the SOS and the ward's history")
        leaves = [t.rsplit("/", 1)[1] for t, _p in central.snapshot()]
        assert leaves[:3] == ["sos", "case_events", "case_events"]
        events = [e for t, p in central.snapshot() if t.endswith("case_events")
                  for e in CaseEvents.model_validate_json(p).events]
        assert [e.kind for e in events] == ["created", "notified", "acknowledged"]
        assert {e.case_ref for e in events} == {f"sos:{BUTTON:08x}:1:{button._fw.sos_seq}"}
        assert events[2].actor == f"officer:{OFFICER:08x}"
        # 'created' carries the SOS as the button signed it: central opens a case only from that.
        (_t, sos_uplink), = [(t, p) for t, p in central.snapshot() if t.endswith("/sos")]
        assert events[0].data["frame"] == Uplink.model_validate_json(sos_uplink).frame
    finally:
        gw.stop()
        central.close()


def test_the_directory_is_synced_from_central_and_cached(
    tmp_path: Path, mosquitto: RunningBroker, registry: NodeRegistry
) -> None:
    central = MqttPeer(mosquitto.endpoint_for_central(), "nothing/#", "central")
    central.client.publish(topics.directory(WARD), DIRECTORY.model_dump_json(), qos=1, retain=True).wait_for_publish()
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **settings_fields(mosquitto.add_gateway(WARD, GW)))
    gw = GatewayService(settings, SimRadioLink(Air(), GATEWAY_RADIO), registry)
    gw.start()
    try:
        cache = tmp_path / "outbox-directory.json"
        wait_until(cache.exists, what="the cached directory")
        assert json.loads(cache.read_text())["officers"][0]["radio_node_id"] == OFFICER
        assert gw.ward.directory.officer_nodes() == {OFFICER}
        pinned = {OFFICER: OFFICER_KEY.public_key().public_bytes_raw()}
        assert gw.ward.directory.pinned_keys() == pinned
    finally:
        gw.stop()
        central.close()
    # Cut off and restarted, the gateway still knows whose key to trust.
    again = GatewayService(settings, SimRadioLink(Air(), GATEWAY_RADIO), registry)
    try:
        assert again.ward.directory.pinned_keys() == pinned
    finally:
        again.stop()


def _spoof_scene(gw: GatewayService, air: Air, registry: NodeRegistry) -> tuple[Handheld, Handheld, VirtualSosButton]:
    officer, spoofer = Handheld(air, OFFICER, OFFICER_KEY), Handheld(air, STRANGER)
    button = VirtualSosButton(registry.get(BUTTON), air)  # type: ignore[arg-type]
    button.press(1_700_000_000.0, kind=1, people=2)
    wait_until(lambda: len(officer.inbox) == 1, what="the local case on the officer's radio")
    return officer, spoofer, button


@pytest.mark.parametrize(("forgery", "reason", "reply"), [
    (dict(to_id=None), "command_not_direct", "L1 DONE refused: send it as a direct message to the gateway"),
    (dict(to_id=GATEWAY_RADIO), "command_not_pki", "L1 DONE refused: it was not PKI-encrypted"),
    (dict(to_id=GATEWAY_RADIO, pki=True), "command_key_mismatch", "L1 DONE refused: this radio's key is not the"),
])
def test_a_forged_officer_command_is_refused_and_the_button_stays_unresolved(
    cut_off: tuple[GatewayService, Air], registry: NodeRegistry, forgery: dict[str, object], reason: str, reply: str
) -> None:
    gw, air = cut_off
    officer, spoofer, button = _spoof_scene(gw, air, registry)
    spoofer.forge("L1 DONE", OFFICER, **forgery)  # type: ignore[arg-type]
    # The refusal goes to the node the sender claimed: the real officer learns someone spoke as them.
    wait_until(lambda: officer.inbox[-1:] != [] and officer.inbox[-1].startswith(reply), what="the refusal")
    assert gw.stats()["rejected_by_reason"] == {reason: 1}
    assert [c.state for c in gw.ward.book.open_cases()] == ["registered"]
    assert button.led == "registered"
    officer.say("L1 DONE")  # the real officer, from the enrolled radio
    wait_until(lambda: button.led == "resolved", what="the button lit by the real officer")


def test_list_and_help_answer_anyone_on_the_channel(
    cut_off: tuple[GatewayService, Air], registry: NodeRegistry
) -> None:
    gw, air = cut_off
    _officer, stranger, _button = _spoof_scene(gw, air, registry)
    air.transmit_text(STRANGER, "LIST")  # on the channel, no PKI
    wait_until(lambda: stranger.inbox[-1:] == ["L1 medical 2p registered"], what="the list for anyone")
    air.transmit_text(STRANGER, "help")
    wait_until(lambda: stranger.inbox[-1:] == [HELP_TEXT], what="help for anyone")
    air.transmit_text(STRANGER, "anyone seen the ferry?")  # chatter on the channel: not answered, counted
    wait_until(lambda: gw.stats()["rejected_by_reason"] == {"text_not_a_command": 1}, what="chatter counted")
    assert stranger.inbox[-1:] == [HELP_TEXT]
