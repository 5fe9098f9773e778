#!/usr/bin/env bash
# Sets up (idempotent) and runs the checks CI runs: ruff, then the test suite (slow tests excluded;
# run them with `.venv/bin/python -m pytest -m slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/python -m pytest -q "$@"
