#!/usr/bin/env bash
# Evaluate BM25 / dense / hybrid on every development qrels set and save the runs.
#   bash bench/eval_dev.sh            (uses $KHUB_DATA_DIR, default ./data: ingest corpora/ first)
set -euo pipefail
cd "$(dirname "$0")/.."
KHUB=${KHUB:-.venv/bin/khub}
for set in crosslingual iccd_questions monolingual; do
  "$KHUB" eval "bench/qrels/$set.jsonl" --compare --save "bench/results/eval_$set.json"
done
