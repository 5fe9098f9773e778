#!/usr/bin/env bash
# Idempotent setup: a local virtual environment in .venv with torch==2.13.0 installed first
# (a newer or unpinned torch would pull gigabytes of CUDA wheels), then attnkit with its dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q torch==2.13.0
fi
.venv/bin/python -m pip install -q -e ".[dev]"
echo "attnkit $(.venv/bin/attnkit --version) ready in .venv"
