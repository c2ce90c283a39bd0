#!/usr/bin/env bash
# The main job on the shipped example data, end to end:
#   prepare -> embed -> align -> train (MAN-MoE, en,es,nl -> de) -> predict -> evaluate.
# German is the target: its labels are never used for training or model selection,
# only by the final `mltl evaluate`. Takes a few minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/quickstart}
DATA=examples/data
SEED=${SEED:-1}
mkdir -p "$OUT"

echo "== prepare: labeled NER data + unlabeled text per language"
for lang in en de es nl zh; do
  mltl -q prepare --task tagging --lang "$lang" --force \
    "$DATA/ner/$lang/train.txt" "$DATA/ner/$lang/dev.txt" "$DATA/ner/$lang/test.txt" \
    --unlabeled-text "$DATA/unlabeled/$lang.txt" -o "$OUT/data/$lang"
done
for lang in en fr de es; do
  mltl -q prepare --task classification --lang "$lang" --force "$DATA/cls/$lang.tsv" \
    --split 80/10/10 --seed 1 --unlabeled-text "$DATA/unlabeled/$lang.txt" -o "$OUT/data-cls/$lang"
done

echo "== embed: fastText vectors from each language's text (the tokens, never the tags)"
for lang in en de es nl; do
  mltl -q embed --lang "$lang" "$OUT/data/$lang/unlabeled.jsonl" "$OUT/data/$lang/train.jsonl" \
    --dim 50 --min-count 1 --epoch 10 -o "$OUT/vectors/$lang" >/dev/null
done

echo "== align: de, es, nl into the English space (identical-strings seed + self-learning)"
mltl -q align --hub en "$OUT"/vectors/{en,de,es,nl}.vec --method identical --force -o "$OUT/aligned"

echo "== train: MAN-MoE on en, es, nl; target de (unlabeled only)"
# Settings in examples/train-ner.toml; the flags point it at this run's directories.
mltl train --config examples/train-ner.toml --data "$OUT/data" --vectors "$OUT/aligned" \
  --seed "$SEED" --force -o "$OUT/model"

echo "== predict: raw German text"
printf 'Angela Merkel traf am Montag in Berlin den Vorstand von Siemens.\n' > "$OUT/de.txt"
mltl predict --model "$OUT/model/model-best" "$OUT/de.txt" --format conll

echo "== evaluate: German test set (gold labels used only here)"
mltl evaluate --model "$OUT/model/model-best" "$DATA/ner/de/test.txt" --input-format conll \
  --plot "$OUT/gates.png"
