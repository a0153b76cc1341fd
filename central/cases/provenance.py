"""Provenance: which case assertions a gateway may make to central, judged by who published them.

The broker (ARCHITECTURE §10) lets the identity of gateway ``G`` of ward ``W`` publish only under
``floodmesh/v1/W/G/up/...``, so on central a topic's (ward, gateway) *is* the authenticated publisher.
What it publishes falls in two kinds, checked differently:

- **Radio frames** (``up/<kind>``, ``up/batch``: SOS, cancel, water level, node status) carry the node's
  HMAC tag. The node said it; the gateway only carried it. A border node heard by the next ward's
  gateway is relayed legitimately, so no ward check applies: the processor checks the tag, and that the
  envelope names its own topic (``topic_mismatch``). What central keeps from the envelope itself (which
  gateway heard the frame, when) is then the publisher's testimony about itself.
- **Case events** (``up/case_events``) are the gateway's own word: its ward mode's local cases and its
  duty officers' replies (checked by the gateway against its ward directory, not signed end to end).
  They are judged here, before anything is written.

A ``CaseEvents`` envelope from gateway ``G`` of ward ``W`` is refused whole (one envelope is one step of
the ward's handling; the app ack can refuse a message, not part of one; and a half-applied step would
be acked as durable) if any event:

1. has an id outside ``G:``'s space (``foreign_event_id``): histories merge by event id, so a foreign id
   could pre-empt an event central or another gateway will write under that id;
2. names an actor other than ``gateway:G`` or ``officer:<8 hex>`` (``foreign_actor``): the ledger is the
   audit trail, and a gateway may not sign as central, an operator or another gateway;
3. is of a kind a gateway never authors (``kind_not_from_gateway``): it reports ``created``,
   ``notified``, ``acknowledged``, ``dispatched`` and ``resolved``. A cancel is the resident's (a signed
   ``sos_cancel`` frame), a rating the resident's (the API), ``escalated`` and ``merged`` central's;
4. concerns a case central knows that the publisher does not speak for (``foreign_ward_case``). It
   speaks for a case when any of these holds:

   a. the case lies in ``W`` (the ward's own authority answers for it);
   b. the case's gateway is ``G``: this gateway brought the case to central (its SOS frame or its
      ``created`` arrived first). This is the GPS-located SOS from just across the ward line, heard and
      handled by ``G``'s officers while cut off: ``G`` may report its own handling of it;
   c. the SOS came from a button registered in ``W`` (the ward's own resident, whose fix lies across
      the line, whoever relayed it first).

   Another ward's case that a different gateway brought first is refused even if ``G`` also heard it:
   central keeps no durable record of every gateway that relayed a frame, so "``G`` heard it too"
   cannot be proven. That ward's own officers answer for it;
5. opens a case central never saw, from a button that is not registered (``unknown_node``), is not an
   SOS button (``not_sos_button``) or is registered in another ward (``foreign_node``). A gateway can
   only have heard, and verified, an SOS from a node whose key it holds: its own ward's. Even then the
   ``created`` must carry the button's own signed SOS frame, and what it says (kind, people, position)
   must be what the button signed: that is checked where the case is opened (central.cases.sync), so a
   gateway cannot invent residents or positions in its own ward either.

Pure: the cases and the registry are handed in; the caller turns a ``Foreign`` into a refusal.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from central.store.records import Case
from protocol.envelopes import CaseEvent
from protocol.registry import NodeRegistry

GATEWAY_KINDS = frozenset({"created", "notified", "acknowledged", "dispatched", "resolved"})
_OFFICER_ACTOR = re.compile(r"^officer:[0-9a-f]{8}$")


@dataclass(frozen=True)
class Publisher:
    """The authenticated identity behind an uplink: the (ward, gateway) of its topic."""

    ward: str
    gateway: str


@dataclass(frozen=True)
class Foreign:
    """An assertion the publisher may not make: ``reason`` goes back in the app ack and the counters."""

    reason: str
    detail: str


def judge_event(publisher: Publisher, event: CaseEvent) -> Foreign | None:
    """Rules 1-3: the event's id, actor and kind are a gateway's own; None if they are."""
    gateway, what = publisher.gateway, event.event_id
    if not what.startswith(gateway + ":"):
        return Foreign("foreign_event_id", f"event id {what!r}: a gateway's event ids start with '{gateway}:'")
    if event.actor != f"gateway:{gateway}" and _OFFICER_ACTOR.match(event.actor) is None:
        return Foreign("foreign_actor", f"{what}: actor {event.actor!r}; use 'gateway:{gateway}' or 'officer:<hex>'")
    if event.kind not in GATEWAY_KINDS:
        return Foreign("kind_not_from_gateway", f"{what}: {event.kind!r} is the resident's or central's to record")
    return None


def judge_known_case(publisher: Publisher, case: Case, registry: NodeRegistry) -> Foreign | None:
    """Rule 4: None if the publisher speaks for this case central already has."""
    button = registry.get(case.node_id)
    if (
        case.ward_code == publisher.ward
        or case.gateway == publisher.gateway
        or (button is not None and button.ward == publisher.ward)
    ):
        return None
    return Foreign(
        "foreign_ward_case",
        f"case #{case.case_number} ({case.case_ref}) is ward {case.ward_code}'s, brought by {case.gateway}; "
        f"{publisher.gateway} of ward {publisher.ward} does not answer for it; ward {case.ward_code}'s gateway "
        "or an operator must",
    )


def judge_new_case(publisher: Publisher, node_id: int, registry: NodeRegistry) -> Foreign | None:
    """Rule 5: None if a case central never saw may be opened by the publisher for an SOS of ``node_id``."""
    node = f"{node_id:08x}"
    button = registry.get(node_id)
    if button is None:
        return Foreign("unknown_node", f"node {node} is not in central's registry; provision it, then resend")
    if button.kind != "sos_button":
        return Foreign("not_sos_button", f"node {node} is a {button.kind}, not an SOS button")
    if button.ward != publisher.ward:
        return Foreign("foreign_node", f"node {node} is registered in ward {button.ward}, not {publisher.ward}; "
                                      "re-register it if it moved")
    return None


def judge_history(
    publisher: Publisher,
    events_by_ref: Mapping[str, Iterable[CaseEvent]],
    known: Mapping[str, Case | None],
    node_of_ref: Mapping[str, int],
    registry: NodeRegistry,
) -> Foreign | None:
    """The first rule a gateway's history breaks, or None if the publisher may assert all of it.

    ``known`` maps each case ref to central's case (None: never seen); ``node_of_ref`` to its SOS button.
    """
    for ref, events in events_by_ref.items():
        for event in events:
            foreign = judge_event(publisher, event)
            if foreign is not None:
                return foreign
        case = known.get(ref)
        foreign = (
            judge_new_case(publisher, node_of_ref[ref], registry)
            if case is None
            else judge_known_case(publisher, case, registry)
        )
        if foreign is not None:
            return foreign
    return None
