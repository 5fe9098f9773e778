#!/usr/bin/env bash
# Sets up (idempotent) and runs the checks CI runs: ruff, then the test suite (slow tests excluded;
# run them with `.venv/bin/python -m pytest -m slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Debian's chromium drives the explorer's browser test (tests/e2e/test_explorer_browser.py skips without it).
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq -o Acquire::Languages=en && apt-get install -y -qq chromium) || echo "could not install chromium: the browser test will be skipped"
  else
    echo "chromium is not installed (as root: apt-get install -y chromium): the browser test will be skipped"
  fi
fi
.venv/bin/ruff check src tests benchmarks
.venv/bin/python -m pytest -q "$@"
