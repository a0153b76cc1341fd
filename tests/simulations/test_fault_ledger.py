"""The total-queue checker: lost, duplicated and unexpected, each caught on its own."""

import pytest

from simulations.faults.ledger import Holdings, Kind, Ledger, Origin, Verdict

pytestmark = pytest.mark.unit

A, B, C = (1, 1, 0), (1, 1, 1), (2, 1, 0)


def _ledger() -> Ledger:
    ledger = Ledger()
    ledger.acknowledge(Kind.READING, A, Origin.OUTBOX_COMMIT)
    ledger.sent_item(Kind.READING, B)  # sent, never acknowledged: may or may not arrive
    ledger.acknowledge(Kind.SOS, C, Origin.BUTTON_ACK)
    return ledger


def test_everything_acknowledged_held_once_is_clean() -> None:
    verdict = _ledger().compare(Holdings(readings=[A], sos_events=[C], sos_cases=[C]))
    assert verdict.clean
    assert verdict.counts() == {"lost": 0, "duplicated": 0, "unexpected": 0}


def test_an_unacknowledged_reading_may_be_missing_or_present() -> None:
    assert _ledger().compare(Holdings([A, B], [C], [C])).clean


def test_an_acknowledged_reading_missing_is_lost() -> None:
    verdict = _ledger().compare(Holdings(readings=[], sos_events=[C], sos_cases=[C]))
    assert verdict.lost == [(Kind.READING, A)]


def test_an_acknowledged_sos_missing_is_lost() -> None:
    verdict = _ledger().compare(Holdings(readings=[A], sos_events=[], sos_cases=[]))
    assert verdict.lost == [(Kind.SOS, C)]


def test_two_points_for_one_reading_are_duplicated() -> None:
    assert _ledger().compare(Holdings([A, A], [C], [C])).duplicated == [(Kind.READING, A)]


def test_two_cases_for_one_sos_are_duplicated() -> None:
    assert _ledger().compare(Holdings([A], [C], [C, C])).duplicated == [(Kind.SOS, C)]


def test_something_no_origin_sent_is_unexpected() -> None:
    stray = (9, 9, 9)
    verdict = _ledger().compare(Holdings([A, stray], [C, stray], [C]))
    assert verdict.unexpected == [(Kind.READING, stray), (Kind.SOS, stray)]


def test_the_first_origin_to_acknowledge_is_kept() -> None:
    ledger = _ledger()
    ledger.acknowledge(Kind.SOS, C, Origin.OUTBOX_COMMIT)
    assert ledger.acknowledged[Kind.SOS][C] is Origin.BUTTON_ACK


def test_a_new_epoch_forgets_what_was_acknowledged_but_not_what_was_sent() -> None:
    ledger = _ledger()
    ledger.forget_acknowledged()
    verdict = ledger.compare(Holdings([], [], []))
    assert verdict.clean
    assert ledger.compare(Holdings([A], [C], [C])).clean  # still sent: not unexpected


def test_merged_verdicts_count_an_item_once() -> None:
    one = Verdict([], [(Kind.READING, A)], [], 1, 5)
    assert one.merged(one).duplicated == [(Kind.READING, A)]
    assert one.merged(one).acknowledged == 2
