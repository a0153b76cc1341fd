"""The fault-injection hook is off unless named, and crashes only at its own point and batch."""

import subprocess
import sys

import pytest

from central.core.config import CentralSettings
from central.ingest.fault_hook import CRASH_EXIT_CODE, CrashAt, crash_hook

pytestmark = pytest.mark.unit


def test_off_by_default() -> None:
    settings = CentralSettings(registry_path="nodes.json")
    assert settings.fault_injection_crash_at == "off"
    assert crash_hook(settings.fault_injection_crash_at, settings.fault_injection_crash_batch) is None


def test_other_points_and_earlier_batches_do_not_crash() -> None:
    hook = CrashAt("after_commit", batch=3)
    for _ in range(5):
        hook.reached("after_publish")
    hook.reached("after_commit")
    hook.reached("after_commit")  # the second batch: still alive


def test_the_chosen_batch_ends_the_process_like_a_kill() -> None:
    code = ("from central.ingest.fault_hook import CrashAt\n"
            "h = CrashAt('after_publish', 2)\nh.reached('after_publish')\nh.reached('after_publish')\n"
            "print('survived')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == CRASH_EXIT_CODE
    assert "survived" not in done.stdout
