"""Central's downlink frames (ACKs, report-interval configs), tagged with the addressee's key, numbered."""

from datetime import datetime

from central.cases.intake import AckPlan
from central.store.transaction import StoreTx
from protocol import frames, topics
from protocol.envelopes import Downlink, Uplink

_U16 = 0xFFFF
_U32 = 0xFFFFFFFF


class DownlinkEncoder:
    """Numbers and encodes ACK frames; (boot epoch, seq) is never reused, even across restarts."""

    def __init__(self, boot_epoch: int) -> None:
        self.boot_epoch = boot_epoch
        self._seq = 0

    def _next_seq(self, tx: StoreTx) -> int:
        self._seq += 1
        if self._seq > _U16:
            # 65 535 downlinks in one boot: take a fresh epoch rather than reuse a (boot, seq) pair.
            self.boot_epoch = tx.bump_boot_epoch()
            self._seq = 1
        return self._seq

    def ack(self, tx: StoreTx, uplink: Uplink, key: bytes, plan: AckPlan, now: datetime) -> tuple[str, str]:
        """(topic, Downlink JSON) carrying the ACK back through the gateway that heard the SOS."""
        payload = frames.Ack(plan.sos_boot, plan.sos_seq, plan.case_number, plan.state)
        frame = frames.Frame(plan.node_id, self.boot_epoch, self._next_seq(tx), int(now.timestamp()) & _U32, payload)
        envelope = Downlink(node_id=plan.node_id, frame=frames.encode(frame, key).hex(), case_number=plan.case_number)
        return topics.downlink(uplink.ward, uplink.gateway, plan.node_id), envelope.model_dump_json()

    def config(
        self, tx: StoreTx, uplink: Uplink, key: bytes, node_id: int, report_interval_s: int, now: datetime
    ) -> tuple[str, str]:
        """(topic, Downlink JSON) telling a sensor how often to report, through the gateway that heard it."""
        payload = frames.Config(report_interval_s)
        frame = frames.Frame(node_id, self.boot_epoch, self._next_seq(tx), int(now.timestamp()) & _U32, payload)
        envelope = Downlink(node_id=node_id, frame=frames.encode(frame, key).hex())
        return topics.downlink(uplink.ward, uplink.gateway, node_id), envelope.model_dump_json()
