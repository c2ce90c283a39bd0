#!/usr/bin/env bash
# The main job on the shipped example data: prepare every example language.
# (Grows into embed -> align -> prepare -> train -> predict -> evaluate as those land.)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/quickstart}
DATA=examples/data
mkdir -p "$OUT"

for lang in en de es nl zh; do
  mltl prepare --task tagging --lang "$lang" --force \
    "$DATA/ner/$lang/train.txt" "$DATA/ner/$lang/dev.txt" "$DATA/ner/$lang/test.txt" \
    --unlabeled-text "$DATA/unlabeled/$lang.txt" -o "$OUT/data/ner/$lang"
done
for lang in en fr de es; do
  mltl prepare --task classification --lang "$lang" --force "$DATA/cls/$lang.tsv" \
    --split 80/10/10 --seed 1 --unlabeled-text "$DATA/unlabeled/$lang.txt" -o "$OUT/data/cls/$lang"
done
echo "datasets written under $OUT/data"
