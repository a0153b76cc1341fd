"""Everything copied onto the ESP32 compiles with mpy-cross, and stays small (RAM is ~100 kB free).

The ``.mpy`` size of every module is printed in the terminal summary (tests/firmware/conftest.py).
"""

import subprocess
from pathlib import Path

import pytest

from tests.firmware.conftest import MPY_SIZES
from tests.firmware.fw_tools import ROOT, tool

ON_DEVICE = [
    *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "firmware").glob("*.py")),
    "protocol/__init__.py",
    "protocol/frames.py",
    "protocol/hmac_sha256.py",
    "protocol/mesh.py",
]
# Bytecode budget per module; frames.py is the biggest (~4.5 kB).
MAX_MPY_BYTES = 8000
# The whole image as bytecode: a runaway module shows up here first.
MAX_TOTAL_MPY_BYTES = 40_000


def _compile(src: str, out_dir: Path) -> int:
    out = out_dir / (src.replace("/", "_")[:-3] + ".mpy")
    proc = subprocess.run(
        [tool("mpy-cross"), "-march=xtensawin", "-o", str(out), src],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return out.stat().st_size


@pytest.fixture(scope="module")
def mpy_sizes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    out_dir = tmp_path_factory.mktemp("mpy")
    sizes = {src: _compile(src, out_dir) for src in ON_DEVICE}
    MPY_SIZES.update(sizes)
    return sizes


@pytest.mark.unit
@pytest.mark.parametrize("src", ON_DEVICE)
def test_compiles_with_mpy_cross(src: str, mpy_sizes: dict[str, int]) -> None:
    assert 0 < mpy_sizes[src] <= MAX_MPY_BYTES, f"{src} compiled to {mpy_sizes[src]} bytes"


@pytest.mark.unit
def test_firmware_total_size(mpy_sizes: dict[str, int]) -> None:
    assert sum(mpy_sizes.values()) < MAX_TOTAL_MPY_BYTES


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
