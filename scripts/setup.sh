#!/usr/bin/env bash
# Set floodmesh up on Debian/Ubuntu with Python >= 3.11: a .venv with everything, and Mosquitto
# (broker + clients, from Debian's packages) when it is missing and we are root.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
as_root() { [ "$(id -u)" = 0 ]; }
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
apt_updated=""
apt_update_once() { [ -n "$apt_updated" ] || { apt-get update -qq >/dev/null; apt_updated=1; }; }

have_mosquitto() { command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; }
if ! have_mosquitto || ! command -v mosquitto_pub >/dev/null; then
  if as_root && command -v apt-get >/dev/null; then
    echo "setup: installing mosquitto and mosquitto-clients from Debian's packages" >&2
    apt_update_once
    apt_install mosquitto mosquitto-clients
  else
    echo "setup: mosquitto not installed and not root: the demo will use the embedded amqtt broker;" >&2
    echo "       the tests need it (sudo apt-get install mosquitto mosquitto-clients)" >&2
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
