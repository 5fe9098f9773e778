#!/usr/bin/env bash
# The peers benchmark in one command: install Joey NMT, OpenNMT-py and CTranslate2 into their own virtual
# environments (once; see install.sh), then train and decode with every toolkit side by side (run.py).
#
#   bash benchmarks/peers/run.sh                        # 1,500 steps, 3 rounds, all toolkits and models
#   bash benchmarks/peers/run.sh --steps 60 --small-steps 20 --rounds 1   # a smoke run
#   bash benchmarks/peers/run.sh --only attnkit,onmt --models transformer --work runs/peers_tf
#
# Arguments go to run.py (--steps, --small-steps, --rounds, --only, --models, --work). attnkit itself runs
# from the repository's .venv (bash scripts/run.sh or scripts/test.sh sets it up).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

if [[ ! -x "$ROOT/.venv/bin/attnkit" ]]; then
    echo "attnkit's environment $ROOT/.venv is missing: run bash scripts/test.sh (or scripts/run.sh) first" >&2
    exit 1
fi
bash "$HERE/install.sh"
exec "$ROOT/.venv/bin/python" "$HERE/run.py" "$@"
