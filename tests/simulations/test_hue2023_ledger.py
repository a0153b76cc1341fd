"""The scenario's ledger: case labels and texts on the air, and the accountability it implies."""

import pytest

from simulations.hue2023.ledger import (
    LOCAL_CASE_FLAG,
    AckOnAir,
    IncidentFate,
    ScenarioLedger,
    accountability_differences,
    case_label,
    central_accountability,
    confirmation,
    expected_accountability,
    text_case_label,
)

pytestmark = pytest.mark.unit


def test_labels_of_local_and_central_cases() -> None:
    assert case_label(LOCAL_CASE_FLAG | 3) == "L3"
    assert case_label(42) == "42"
    assert text_case_label("SOS L3: trapped, 4 people, node 0b000001. Reply L3 ACK") == "L3"
    assert text_case_label("SOS #42 P2 | medical | 3 người | Phường Kim Long") == "42"
    assert text_case_label("floodmesh: LIST | <case> ACK") is None
    assert confirmation("L3 acknowledged") == ("L3", "acknowledged")
    assert confirmation("42 resolved") == ("42", "resolved")
    assert confirmation("L3: cannot go from resolved to acknowledged") is None


def _ledger_with(ward: str, node: int, label_number: int, states: set[str]) -> ScenarioLedger:
    ledger = ScenarioLedger()
    ledger.ack_seen(AckOnAir(ward, node, 0, label_number, 1, 0.0))
    for state in states:
        ledger.confirmed_on_air(ward, case_label(label_number), state)
    return ledger


def test_the_ledger_counts_what_the_ward_confirmed_on_the_air() -> None:
    ledger = _ledger_with("19813", 11, LOCAL_CASE_FLAG | 1, {"acknowledged", "dispatched", "resolved"})
    ledger.ack_seen(AckOnAir("19813", 12, 0, 7, 1, 0.0))
    ledger.confirmed_on_air("19813", "7", "acknowledged")
    fates = [IncidentFate("19813", 11, True, False), IncidentFate("19813", 12, True, False),
             IncidentFate("19813", 13, True, True), IncidentFate("19813", 14, False, False)]
    table = expected_accountability(fates, ledger)
    assert table == {"19813": {"received": 3, "acknowledged": 2, "resolved": 1, "cancelled": 1, "open": 1}}


def test_a_case_acknowledged_before_its_cancel_arrived_counts_as_acknowledged_and_cancelled() -> None:
    # The officer's ACK went through, then the resident's cancel (slowed by the mesh) reached the ward:
    # central keeps acknowledged_at, so the ledger must count the ACK too.
    ledger = _ledger_with("19813", 11, LOCAL_CASE_FLAG | 1, {"acknowledged"})
    table = expected_accountability([IncidentFate("19813", 11, True, True)], ledger)
    assert table == {"19813": {"received": 1, "acknowledged": 1, "resolved": 0, "cancelled": 1, "open": 0}}


def test_a_difference_with_central_is_named_by_ward_and_column() -> None:
    expected = {"19813": {"received": 3, "acknowledged": 2, "resolved": 1, "cancelled": 1, "open": 1}}
    rows: list[dict[str, object]] = [{"ward_code": "19813", "received": 3, "acknowledged": 2, "resolved": 1,
                                      "cancelled": 1, "open": 1, "authority": "UBND", "overdue": 4}]
    assert accountability_differences(expected, central_accountability(rows)) == []
    rows.append({"ward_code": "19774", "received": 1, "acknowledged": 0, "resolved": 0, "cancelled": 0, "open": 1})
    rows[0]["received"] = 4
    assert accountability_differences(expected, central_accountability(rows)) == [
        "ward 19774 received: ledger 0, central 1", "ward 19774 open: ledger 0, central 1",
        "ward 19813 received: ledger 3, central 4"]
