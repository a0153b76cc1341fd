"""Everything copied onto the ESP32 compiles with mpy-cross, and stays small (RAM is ~100 kB free)."""

import subprocess
from pathlib import Path

import pytest

from tests.firmware.fw_tools import ROOT, tool

ON_DEVICE = [
    *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "firmware").glob("*.py")),
    "protocol/__init__.py",
    "protocol/frames.py",
    "protocol/hmac_sha256.py",
]
# Bytecode budget per module; frames.py is the biggest (~4.5 kB).
MAX_MPY_BYTES = 8000


@pytest.mark.unit
@pytest.mark.parametrize("src", ON_DEVICE)
def test_compiles_with_mpy_cross(src: str, tmp_path: Path) -> None:
    out = tmp_path / (Path(src).stem + ".mpy")
    proc = subprocess.run(
        [tool("mpy-cross"), "-march=xtensawin", "-o", str(out), src],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    size = out.stat().st_size
    assert 0 < size <= MAX_MPY_BYTES, f"{src} compiled to {size} bytes"


@pytest.mark.unit
def test_firmware_total_size() -> None:
    # Sanity bound on the whole device image's sources: a runaway module shows up here first.
    total = sum((ROOT / src).stat().st_size for src in ON_DEVICE)
    assert total < 60_000


@pytest.mark.unit
@pytest.mark.parametrize("src", ON_DEVICE)
def test_no_desktop_only_imports(src: str) -> None:
    text = (ROOT / src).read_text()
    for banned in (
        "import typing",
        "from typing",
        "import dataclasses",
        "from dataclasses",
        "from __future__",
        "import enum",
    ):
        assert banned not in text, f"{src} uses {banned} (not on MicroPython)"
