#!/usr/bin/env bash
# Set up (if needed) and run the whole floodmesh system on this machine. Extra arguments go to
# `floodmesh demo`, e.g. `--duration 30 --summary-json`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/floodmesh demo "$@"
