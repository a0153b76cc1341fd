"""A real VictoriaMetrics (Debian's ``victoria-metrics``) on a free loopback port: it accepts InfluxDB's
v2 write API, and ``/api/v1/export`` reads back exactly what was stored."""

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from floodmesh.broker import free_port


@contextmanager
def victoria_metrics(workdir: Path, port: int | None = None) -> Iterator[str]:
    """Start VictoriaMetrics; yields its base URL. Dedup at 1 s makes a rewritten point replace the old one."""
    exe = shutil.which("victoria-metrics")
    if exe is None:
        raise RuntimeError("victoria-metrics is not installed (apt-get install victoria-metrics)")
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [exe, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={workdir / 'vm-data'}",
           "-retentionPeriod=100y", "-dedup.minScrapeInterval=1s", "-loggerLevel=ERROR"]
    log = (workdir / "vm.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"victoria-metrics did not start: {(workdir / 'vm.log').read_text()[-500:]}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def export(url: str, match: str) -> list[dict[str, object]]:
    """Every stored series matching ``match``, with all its raw samples."""
    httpx.get(f"{url}/internal/force_flush", timeout=10).raise_for_status()
    r = httpx.post(f"{url}/api/v1/export", data={"match[]": match, "start": "0"}, timeout=30)
    r.raise_for_status()
    return [json.loads(line) for line in r.text.splitlines() if line.strip()]
