"""SOS, cancel and a gateway's case history -> cases, the button's ACK and texts to the duty officers.

Everything here writes inside the batch's transaction; the ACK downlinks it returns are published
only after the commit (central/ingest/ingest_worker.py), so a lit LED always names a stored case.
"""

from datetime import datetime

from pydantic import ValidationError

from central.cases.intake import AckPlan, CaseIntake
from central.cases.ledger import CaseLedger
from central.cases.notify import case_text, officers_on_radio, text_payload, text_topic
from central.cases.provenance import Publisher
from central.cases.sync import HistoryRefused, HistorySync
from central.ingest.batch_result import BatchResult, Outgoing
from central.ingest.downlink import DownlinkEncoder
from central.ingest.verification import Heard, Rejected, recover_msg_id
from central.store.transaction import StoreTx
from protocol import topics
from protocol.envelopes import CaseEvents, Uplink


class CaseUplinks:
    """Turns verified SOS and cancel frames, and gateways' case histories, into case events."""

    def __init__(self, intake: CaseIntake, ledger: CaseLedger, sync: HistorySync, encoder: DownlinkEncoder) -> None:
        self._intake, self._ledger, self._sync, self._encoder = intake, ledger, sync, encoder

    def sos(self, tx: StoreTx, heard: Heard, now: datetime, out: BatchResult) -> None:
        """Open (or join) the case of an SOS, ACK the button, text the ward's officers about a new case."""
        plan = self._intake.register(tx, heard.uplink, heard.record, heard.frame, now)
        self.ack(tx, heard, plan, now, out)
        if plan.new_case:
            self._notify(tx, heard.uplink, plan.case_number, now, out)

    def cancel(self, tx: StoreTx, heard: Heard, now: datetime, out: BatchResult) -> None:
        """Cancel the case a button's earlier SOS opened, and ACK the cancel."""
        plan = self._intake.cancel(tx, heard.frame, now)
        if plan is None:
            raise Rejected("unknown_case", heard.uplink.msg_id, f"no SOS seq {heard.frame.payload.fields()['sos_seq']}")
        self.ack(tx, heard, plan, now, out)

    def replayed(self, tx: StoreTx, heard: Heard, now: datetime, out: BatchResult) -> None:
        """A frame seen before: ACK it again if it was an SOS or cancel (the button missed the first ACK)."""
        self.ack(tx, heard, self._intake.replay(tx, heard.frame), now, out)

    def ack(self, tx: StoreTx, heard: Heard, plan: AckPlan | None, now: datetime, out: BatchResult) -> None:
        """The ACK downlink for ``plan``, back through the gateway that heard the frame."""
        if plan is None:
            return
        topic, payload = self._encoder.ack(tx, heard.uplink, heard.record.key, plan, now)
        out.downlinks.append(Outgoing(topic, payload))
        tx.bump("acks_sent")

    def history(self, tx: StoreTx, parsed: topics.Topic, payload: bytes, now: datetime) -> int:
        """Union a gateway's case history from its time alone with central's; its msg_id, or Rejected."""
        try:
            env = CaseEvents.model_validate_json(payload)
        except ValidationError as exc:
            raise Rejected("invalid_envelope", recover_msg_id(payload), f"{exc.error_count()} errors") from exc
        if (env.ward, env.gateway) != (parsed.ward, parsed.gateway):
            raise Rejected("topic_mismatch", env.msg_id, f"envelope says {env.ward}/{env.gateway}")
        with tx.savepoint():
            try:
                outcome = self._sync.merge(tx, env, now, Publisher(parsed.ward, parsed.gateway))
            except HistoryRefused as exc:
                raise Rejected(exc.reason, env.msg_id, exc.detail) from exc
        tx.bump("case_events_merged", outcome.added)
        return env.msg_id

    def _notify(self, tx: StoreTx, uplink: Uplink, case_number: int, now: datetime, out: BatchResult) -> None:
        """Text the case's ward duty officers through the gateway that heard the SOS; record who was told."""
        case = tx.case(case_number)
        if case is None:
            return
        text = case_text(case)
        for officer in officers_on_radio(tx.directory(case.ward_code)):
            node = officer.radio_node_id or 0
            out.texts.append(Outgoing(text_topic(uplink.ward, uplink.gateway), text_payload(node, text)))
            self._ledger.record(
                tx, case, "notified", now, "central:notify",
                {"to": officer.name, "node_id": topics.node_segment(node), "via": uplink.gateway},
                f"central:{case.case_ref}:notified:{topics.node_segment(node)}",
            )
            tx.bump("officer_texts")

