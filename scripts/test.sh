#!/usr/bin/env bash
# Set up (if needed), then the whole check: ruff, mypy --strict, and every test (unit, integration
# on real brokers, slow). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff" >&2
.venv/bin/ruff check .
echo "== mypy" >&2
.venv/bin/mypy
echo "== pytest" >&2
.venv/bin/pytest "$@"
