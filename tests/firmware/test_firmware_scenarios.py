"""The firmware's stories, run under CPython here and under the real MicroPython unix port."""

import subprocess
from collections.abc import Callable

import pytest

from protocol import frames
from tests.firmware import mp_scenarios, mp_scenarios_batch, mp_scenarios_link
from tests.firmware.fw_tools import ROOT, tool

MODULES = {
    "mp_scenarios": mp_scenarios, "mp_scenarios_batch": mp_scenarios_batch, "mp_scenarios_link": mp_scenarios_link
}
ALL = [fn for mod in MODULES.values() for fn in mod.scenarios()]


@pytest.mark.unit
@pytest.mark.parametrize("scenario", ALL, ids=lambda f: f.__name__[len("scenario_") :])
def test_scenario_on_cpython(scenario: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # scenarios read protocol/vectors.json relative to the repo root
    scenario()


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(MODULES))
def test_scenarios_on_micropython(name: str) -> None:
    proc = subprocess.run(
        [tool("micropython"), f"tests/firmware/{name}.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    n = len(MODULES[name].scenarios())
    assert f"{n} passed, 0 failed" in out, out


@pytest.mark.unit
def test_vector_check_on_micropython() -> None:
    proc = subprocess.run(
        [tool("micropython"), "protocol/vector_check.py"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 failed" in proc.stdout


@pytest.mark.unit
def test_vector_check_on_cpython(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from protocol import vector_check

    monkeypatch.chdir(ROOT)
    assert vector_check.main() == 0
    assert " 0 failed" in capsys.readouterr().out


@pytest.mark.unit
def test_bad_sos_values_raise_and_do_not_consume_the_press() -> None:
    from firmware.sos_button import SosButton

    b = SosButton(1, b"k" * 16, 1)
    with pytest.raises(frames.FrameError):
        b.press(0, 0, people=0)
    assert b.led == "off"
    assert b.press(1, 0, people=1)  # the refused press did not start the debounce window
