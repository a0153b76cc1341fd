"""Run the demo in a terminal: a live one-line status, and a JSON summary at the end."""

import json
import sys
import time
from typing import TextIO

from simulations.demo import Demo, DemoConfig

TICK_S = 0.1
# Stop pressing this long before a timed run ends, so the last requests can be answered.
GRACE_S = 5.0


def _status_line(demo: Demo, elapsed: float, rate: float) -> str:
    s = demo.summary()
    return (
        f"[{elapsed:5.0f}s] readings/s {rate:5.1f} | stored {s['readings_stored']} | "
        f"open cases {s['open_cases']} | acks {s['acks_delivered']} | rejected {s['rejected']} | "
        f"outbox {s['outbox_pending']} | ward {s['isolated_ward']}: {s['isolation']}, "
        f"local cases {s['ward_local_cases']}"
    )


def run_demo(config: DemoConfig, duration_s: float | None, summary_json: bool, out: TextIO = sys.stdout) -> int:
    """Run until ``duration_s`` (or Ctrl-C); returns the exit code."""
    err = sys.stderr
    demo = Demo(config)
    demo.start()
    if demo.central is None or demo.broker is None or demo.operator is None:
        raise RuntimeError("demo did not start")
    op = demo.operator
    # The password goes to the terminal only: never into the JSON summary, which logs keep.
    print(f"floodmesh demo: dashboard {demo.central.api_url}/  log in as {op.name} / {op.password}  "
          f"(also in {op.credentials_path}, mode 0600)", file=err)
    print(f"API: curl -H 'Authorization: Bearer {op.token}' {demo.central.api_url}/api/cases", file=err)
    print(f"broker: {demo.broker.kind} on {demo.broker.host}:{demo.broker.port}; wards: {', '.join(config.wards)}",
          file=err)
    start = time.monotonic()
    last_count, last_t = 0, start
    rate = 0.0
    try:
        while duration_s is None or time.monotonic() - start < duration_s:
            now_mono = time.monotonic()
            pressing = duration_s is None or now_mono - start < duration_s - GRACE_S
            demo.step(time.time(), pressing=pressing)
            if now_mono - last_t >= 1.0:
                stored = int(str(demo.summary()["readings_stored"]))
                rate = (stored - last_count) / (now_mono - last_t)
                last_count, last_t = stored, now_mono
                print("\r" + _status_line(demo, now_mono - start, rate), end="", file=err, flush=True)
            time.sleep(TICK_S)
    except KeyboardInterrupt:
        pass
    finally:
        print(file=err)
        summary = demo.summary()
        demo.stop()
    if summary_json:
        print(json.dumps(summary), file=out, flush=True)
    else:
        for key, value in summary.items():
            print(f"{key:>22}: {value}", file=out)
    return 0
