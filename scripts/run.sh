#!/usr/bin/env bash
# The main job on the built-in default: set up, train the dates model (human-readable dates ->
# ISO 8601, Bahdanau attention; it stops early after ~2 minutes on 2 idle cores, 10 at most), translate a few dates, evaluate on
# the test split. Re-running resumes or reuses the finished run in runs/dates_bahdanau.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
MODEL=runs/dates_bahdanau
.venv/bin/attnkit train configs/dates_bahdanau.yaml --model-dir "$MODEL"
examples=("3 March 1998" "Tuesday, March 3, 1998" "march 3rd 98" "03/03/98" "3.3.1998"
          "3 de marzo de 1998" "martes, 3 de marzo de 1998" "the 21st of June, 2049")
echo "--- translations (beam 5) ---"
printf '%s\n' "${examples[@]}" > "$MODEL/examples.txt"
.venv/bin/attnkit translate "$MODEL" --input "$MODEL/examples.txt" --output "$MODEL/examples.out"
paste -d '\t' "$MODEL/examples.txt" "$MODEL/examples.out" | awk -F'\t' '{printf "%-32s -> %s\n", $1, $2}'
echo "--- test split ---"
.venv/bin/attnkit evaluate "$MODEL" --split test
