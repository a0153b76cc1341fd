"""Prints the firmware's ``.mpy`` sizes (filled by test_firmware_mpy) at the end of the run."""

import pytest

MPY_SIZES: dict[str, int] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per on-device module with its xtensawin .mpy size, and the total."""
    if not MPY_SIZES:
        return
    terminalreporter.section("firmware .mpy sizes (mpy-cross -march=xtensawin)")
    for src, size in sorted(MPY_SIZES.items()):
        terminalreporter.write_line(f"{size:6d}  {src}")
    terminalreporter.write_line(f"{sum(MPY_SIZES.values()):6d}  total")
