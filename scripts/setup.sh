#!/usr/bin/env bash
# Set floodmesh up on Debian/Ubuntu with Python >= 3.11: a .venv with everything, and Mosquitto
# (broker + clients) and VictoriaMetrics from Debian's packages when missing and we are root.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
as_root() { [ "$(id -u)" = 0 ]; }
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
apt_updated=""
apt_update_once() { [ -n "$apt_updated" ] || { apt-get update -qq >/dev/null; apt_updated=1; }; }

# Debian packages the system runs on or is tested against: Mosquitto (broker and clients),
# VictoriaMetrics (a real server for InfluxDB's v2 write API), PostgreSQL with PostGIS, nats-server.
missing=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null || missing+=(mosquitto-clients)
command -v victoria-metrics >/dev/null || [ -x /usr/bin/victoria-metrics ] || missing+=(victoria-metrics)
# PostgreSQL 15 with PostGIS: the geolocation benchmark's baseline and the PostgreSQL store's tests.
[ -f /usr/share/postgresql/15/extension/postgis.control ] || missing+=(postgresql-15-postgis-3)
# NATS server (JetStream + its MQTT listener): the IOC's clustered broker tier (floodmesh/nats_cluster.py).
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
# FUSE 3 (libfuse3 and fusermount3): the fault campaign's power-loss filesystem for the gateway's outbox.
command -v fusermount3 >/dev/null || missing+=(fuse3)
if [ ${#missing[@]} -gt 0 ]; then
  if as_root && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]} from Debian's packages" >&2
    apt_update_once
    apt_install "${missing[@]}"
  else
    echo "setup: not root, cannot install ${missing[*]}: the demo falls back to the embedded amqtt broker;" >&2
    echo "       the tests need them (sudo apt-get install ${missing[*]})" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    if as_root && command -v apt-get >/dev/null; then
      apt_update_once
      apt_install python3-venv
      rm -rf .venv
      "$PYTHON" -m venv .venv
    else
      echo "setup: '$PYTHON -m venv' failed; install python3-venv" >&2
      exit 1
    fi
  fi
fi

# Reinstall only when the project's dependencies changed.
stamp=.venv/.floodmesh-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing floodmesh and its dependencies into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  echo "$want" > "$stamp"
fi

# The dashboard's browser tests: Debian's chromium, driven by Playwright from PyPI (its own browser
# download cannot reach its CDN here, and need not: the tests point it at /usr/bin/chromium).
if [ ! -x /usr/bin/chromium ]; then
  if as_root && command -v apt-get >/dev/null; then
    echo "setup: installing chromium from Debian's packages (the dashboard's browser tests)" >&2
    apt_update_once
    apt_install chromium
  else
    echo "setup: not root, cannot install chromium: the dashboard's browser tests need it (sudo apt-get install chromium)" >&2
  fi
fi

# The dashboard's libraries, vendored from the npm registry into the served assets with their licences:
# the IOC must work while the province is cut off, so nothing is fetched from a CDN at run time.
bash scripts/vendor_dashboard.sh
