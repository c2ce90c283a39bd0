#!/usr/bin/env bash
# One round of the labeling loop with a Label Studio server (docs/labeling.md).
#
#   round.sh send      choose N sentences of the pool with the current model, pre-annotate
#                      them and import them into the Label Studio project (made on the first round)
#   ... people correct the tasks in Label Studio ...
#   round.sh collect   export the project, turn every correction so far into a dataset and
#                      fine-tune the current model on it (--init-model, --target-train); the new
#                      model is the next round's current model
#
# Settings, from the environment:
#   LS_URL, LS_TOKEN    the server and a user's API token ("Authorization: Token …")
#   WORK                this loop's state: project id, current model, labeled data, round models
#   MODEL               the zero-resource model to start from (first round)
#   POOL                unlabeled target text, one sentence per line
#   TARGET              its language code
#   N, STRATEGY         sentences per round (50), random | uncertainty | diverse (random: with a
#                       zero-resource model it beat uncertainty on gold CoNLL, docs/benchmarks.md)
#   TRAIN_CONFIG        the zero-resource run's config.json (or TOML); TRAIN_ARGS: extra train flags,
#                       e.g. the fine-tuning budget: --max-steps 300 --steps-per-epoch 300
set -euo pipefail
: "${LS_URL:?}" "${LS_TOKEN:?}" "${WORK:?}" "${POOL:?}" "${TARGET:?}"
N=${N:-50}
STRATEGY=${STRATEGY:-random}
mkdir -p "$WORK"
auth=(-H "Authorization: Token $LS_TOKEN")
model=$(cat "$WORK/model" 2>/dev/null || echo "${MODEL:?}")

case "${1:-}" in
send)
  if [ ! -f "$WORK/project" ]; then  # first round: a project whose labels are the model's
    mltl init labelstudio --model "$model" -o "$WORK/config.xml" --force
    python3 -c 'import json, sys; print(json.dumps({"title": sys.argv[1], "label_config": open(sys.argv[2]).read()}))' \
      "mltl $TARGET" "$WORK/config.xml" >"$WORK/project.json"
    curl -sSf "${auth[@]}" -H "Content-Type: application/json" -d @"$WORK/project.json" "$LS_URL/api/projects" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' >"$WORK/project"
  fi
  exclude=()
  [ -d "$WORK/labeled" ] && exclude=(--exclude "$WORK/labeled")
  mltl select "$POOL" --model "$model" --lang "$TARGET" -n "$N" --strategy "$STRATEGY" \
    "${exclude[@]}" --format labelstudio -o "$WORK/batch.json"
  curl -sSf "${auth[@]}" -H "Content-Type: application/json" -d @"$WORK/batch.json" \
    "$LS_URL/api/projects/$(cat "$WORK/project")/import" >/dev/null
  echo "imported $N pre-annotated tasks into $LS_URL/projects/$(cat "$WORK/project")"
  ;;
collect)
  curl -sSf "${auth[@]}" -o "$WORK/export.json" \
    "$LS_URL/api/projects/$(cat "$WORK/project")/export?exportType=JSON&download_all_tasks=true"
  # every corrected task so far (skipped and untouched ones left out), as one dataset
  mltl prepare --task tagging --lang "$TARGET" --format labelstudio "$WORK/export.json" \
    --skip-unannotated --force -o "$WORK/labeled"
  n=1
  while [ -e "$WORK/round-$n" ]; do n=$((n + 1)); done
  out="$WORK/round-$n"
  # shellcheck disable=SC2086 # TRAIN_ARGS is a list of flags
  mltl train --config "${TRAIN_CONFIG:?}" --target "$TARGET" --init-model "$model" \
    --target-train "$WORK/labeled" ${TRAIN_ARGS:-} --force -o "$out"
  echo "$out/model-best" >"$WORK/model"
  ;;
*)
  echo "usage: round.sh send | collect" >&2
  exit 2
  ;;
esac
