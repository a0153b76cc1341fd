"""The campaign's picture: each round's worst outcome, from the rounds' log."""

import json
from pathlib import Path

import pytest

from simulations.faults.plot import outcome, plot_rounds, read_rounds

pytestmark = pytest.mark.unit


def _log(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _row(n: int, fault: str, lost: int = 0, duplicated: int = 0, failed_so_far: int = 0) -> dict[str, object]:
    return {"round": n, "fault": fault, "lost": lost, "duplicated": duplicated, "unexpected": 0,
            "checks_failed": failed_so_far}


def test_each_round_gets_its_worst_outcome_and_its_own_failed_checks(tmp_path: Path) -> None:
    main = _log(tmp_path / "main.jsonl", [_row(0, "a"), _row(1, "b", failed_so_far=1), _row(3, "a", failed_so_far=1),
                                          _row(4, "b", lost=2, duplicated=1, failed_so_far=1)])
    other = _log(tmp_path / "other.jsonl", [_row(2, "c", duplicated=1)])
    rounds = read_rounds([main, other, tmp_path / "absent.jsonl"])
    assert [r["round"] for r in rounds] == [0, 1, 2, 3, 4]
    assert [outcome(r) for r in rounds] == ["clean", "check failed", "duplicated", "clean", "lost"]


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    rounds = read_rounds([_log(tmp_path / "r.jsonl", [_row(0, "a"), _row(1, "b", lost=1)])])
    out = plot_rounds(rounds, ["a", "b", "never_ran"], tmp_path / "faults.png", "two rounds")
    assert out.read_bytes().startswith(b"\x89PNG")
