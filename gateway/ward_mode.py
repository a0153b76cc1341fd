"""Autonomous ward mode: when central cannot answer, the gateway runs its ward's cases itself.

An SOS that central has not acknowledged within ``autonomy_after_s`` (or at once, when the backhaul
is down) becomes a local case: the button gets an ACK with a local case number, the ward's duty
officers get the case as a short text on their radios, and their replies (``L3 ACK``...) move it on
and light the button. Every step is queued for central, which merges the ward's history on return.
A reply moves a case only when it is a PKI direct message from the officer's enrolled radio
(``gateway/officer_auth.py``); ``LIST`` and ``HELP`` answer anyone.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from gateway.directory import DirectoryCache
from gateway.officer_auth import command_refusal, refusal_text
from gateway.outbox import OutboxMessage
from gateway.radio.base import IncomingText, RadioLink
from gateway.ward_cases import IllegalTransition, WardCase, WardCaseBook
from gateway.ward_commands import HELP_TEXT, CaseCommand, ListCommand, parse
from protocol import frames
from protocol.envelopes import MESH_TEXT_MAX, sos_case_ref
from protocol.registry import NodeRegistry

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_VULNERABLE = dict(frames.VULNERABLE_FLAGS)


def case_text(case: WardCase, sos: frames.Sos) -> str:
    """The SOS as an official reads it on a handheld: short, with the reply to send."""
    who = [name for name, bit in _VULNERABLE.items() if sos.vulnerable & bit]
    where = f" {sos.lat_e6 / 1e6:.4f},{sos.lon_e6 / 1e6:.4f}" if sos.lat_e6 is not None and sos.lon_e6 else ""
    text = (f"SOS {case.label}: {frames.SOS_KINDS[sos.kind]}, {sos.people} people"
            f"{' (' + ', '.join(who) + ')' if who else ''}, node {case.node_id:08x}{where}. Reply {case.label} ACK")
    return text.encode("utf-8")[:MESH_TEXT_MAX].decode("utf-8", "ignore")


class WardMode:
    """The ward's own handling of SOS frames and officials' commands."""

    def __init__(
        self, radio: RadioLink, registry: NodeRegistry, book: WardCaseBook, directory: DirectoryCache,
        autonomy_after_s: float, clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._radio = radio
        self._registry = registry
        self.book = book
        self.directory = directory
        self._autonomy_after_s = autonomy_after_s
        self._clock = clock
        self._pending: dict[int, tuple[frames.Frame, bytes, float]] = {}  # msg id -> (SOS, as signed, since)
        self._downlink_seq = 0
        self.counts: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()

    # --- SOS frames and central's acknowledgements ------------------------------------------------

    def sos_stored(self, msg: OutboxMessage, frame: frames.Frame) -> None:
        """An SOS is in the outbox: wait for central's acknowledgement, for a while."""
        self._pending[msg.msg_id] = (frame, msg.frame, time.monotonic())

    def restore(self, msgs: list[OutboxMessage]) -> None:
        """After a restart: SOS frames still unacknowledged in the outbox are pending again."""
        for msg in msgs:
            record = self._registry.get(msg.node_id)
            if msg.kind == "sos" and record is not None:
                try:
                    self.sos_stored(msg, frames.decode(msg.frame, record.key))
                except frames.FrameError:
                    continue

    def acked(self, msg_ids: list[int]) -> None:
        """Central has these messages."""
        for msg_id in msg_ids:
            self._pending.pop(msg_id, None)

    def tick(self, connected: bool) -> None:
        """Take over every SOS central has left unanswered too long (all of them when cut off)."""
        now = time.monotonic()
        for msg_id, (frame, signed, since) in list(self._pending.items()):
            if not connected or now - since >= self._autonomy_after_s:
                self._take_over(frame, signed)
                del self._pending[msg_id]

    def _take_over(self, frame: frames.Frame, signed: bytes) -> None:
        sos = frame.payload
        if not isinstance(sos, frames.Sos):
            return
        joined = self.book.open_case_of(frame.node_id)
        if joined is not None and joined.case_ref != sos_case_ref(*frame.event_id):
            # The resident pressed again while their case is open: the same emergency, not a new case for
            # the officers. The button hears that case's number for this press; central joins the press
            # to the case when the frame reaches it (central/cases/intake.py join_open_case).
            self.counts["presses_joined"] += 1
            self._ack_button(replace(joined, sos_boot=frame.boot_epoch, sos_seq=frame.seq))
            return
        officers = sorted(self.directory.officer_nodes())
        case = self.book.open_local(frame, signed, self._clock(), officers)
        if case is None:
            return
        self.counts["local_cases"] += 1
        log.warning("ward mode: central unreachable, SOS from %08x is local case %s", frame.node_id, case.label)
        self._ack_button(case)
        for officer in officers:
            self._text(officer, case_text(case, sos))

    # --- officials' radios ------------------------------------------------------------------------

    def on_text(self, heard: IncomingText) -> None:
        """A text from the mesh: LIST and HELP for anyone, case commands only from enrolled radios."""
        sender = heard.from_node
        command = parse(heard.text)
        if isinstance(command, ListCommand):
            self.counts["list_replies"] += 1
            open_cases = self.book.open_cases()
            self._text(sender, "; ".join(c.summary() for c in open_cases) or "no open cases")
        elif isinstance(command, CaseCommand):
            reason = command_refusal(heard, self._radio.node_num, self.directory.pinned_keys())
            if reason is not None:
                self.rejected[reason] += 1
                log.warning("ward mode: %r from %08x refused: %s", heard.text[:40], sender, reason)
                self._text(sender, refusal_text(heard.text, reason))
                return
            self._command(sender, command)
        elif not command.unknown or heard.to_node == self._radio.node_num or sender in self.directory.officer_nodes():
            # Asked for help, or wrote to the gateway (or is an official): teach the language.
            self.counts["help_replies"] += 1
            self._text(sender, HELP_TEXT)
        else:
            # Chatter on the shared channel that is not for us: answering it would only cost airtime.
            self.rejected["text_not_a_command"] += 1
            log.info("ward mode: channel text from %08x is not a command, ignored", sender)

    def _command(self, officer: int, command: CaseCommand) -> None:
        try:
            case = self.book.transition(command.case, command.state, officer, self._clock())
        except IllegalTransition as exc:
            self._text(officer, f"{command.case}: {exc}")
            return
        self.counts["commands"] += 1
        self._text(officer, f"{case.label} {case.state}")
        self._ack_button(case)

    # --- what central tells the mesh ---------------------------------------------------------------

    def learn_downlink(self, node_id: int, data: bytes) -> None:
        """Central's ACKs tell the ward its case numbers, so officials can use them too."""
        record = self._registry.get(node_id)
        if record is None:
            return
        try:
            frame = frames.decode(data, record.key)
        except frames.FrameError:
            return
        if isinstance(frame.payload, frames.Ack):
            self.book.learn_central(node_id, frame.payload)

    # --- radio ------------------------------------------------------------------------------------

    def _ack_button(self, case: WardCase) -> None:
        record = self._registry.get(case.node_id)
        if record is None:
            return
        self._downlink_seq = (self._downlink_seq + 1) & 0xFFFF
        ack = frames.Ack(case.sos_boot, case.sos_seq, case.case_number, frames.ACK_STATES.index(case.state))
        ts = int(self._clock().timestamp()) & 0xFFFFFFFF
        # Boot epoch 0 marks the gateway as the sender; the button checks the SOS it names, not this.
        data = frames.encode(frames.Frame(case.node_id, 0, self._downlink_seq, ts, ack), record.key)
        self._send(lambda: self._radio.send(case.node_id, data))

    def _text(self, node_id: int | None, text: str) -> None:
        self.counts["texts_sent"] += 1
        self._send(lambda: self._radio.send_text(node_id, text))

    def _send(self, action: Callable[[], None]) -> None:
        try:
            action()
        except ConnectionError as exc:
            self.counts["radio_down"] += 1
            log.warning("ward mode: radio down, message lost: %s", exc)
