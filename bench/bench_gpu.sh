#!/bin/bash
# S1 on a CUDA GPU: MAN-MoE (fp32, bf16 autocast, batch 64), BWE, resume, evaluate and
# predict on the GPU, and a torch.profiler table of 40 steps. Needs only torch, typer,
# rich and numpy beside mltl (no spaCy: the data is already prepared).
#
#   bash bench/bench_gpu.sh bench/work/quick/data-tag bench/work/quick/vectors-xling [LOGDIR]
#
# Prints one line per run: labeled tokens/s per 100 steps, peak GPU memory, scores.
# STEPS=300 (runs of 300 steps, evaluated every STEPS/3) and DEVICE=cuda can be changed,
# e.g. `DEVICE=cpu STEPS=6` to check the script on a machine without a GPU.
set -u
DATA=${1:?DATA dir of mltl prepare outputs (en, es, fr, de)}
VEC=${2:?directory of aligned vectors}
LOGS=${3:-/tmp/mltl-gpu}
RUNS=$(mktemp -d)
mkdir -p "$LOGS"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
STEPS=${STEPS:-300}
EVERY=$((STEPS / 3))
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
NER="--task tagging --sources en,es,fr --target de --data $DATA --vectors $VEC --lowercase en,es,fr,de
     --char-cnn --k 1 --patience 0 --checkpoint-every 100000 --seed 1 --force --steps-per-epoch $EVERY"
summary() { $PY - "$1" <<'PY'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + "/train_log.jsonl")]
m = json.load(open(d + "/metrics.json"))
print(d.rsplit("/", 1)[-1], "tok/s", [round(r["tokens_per_s"]) for r in rows], "gpu_peak_mib",
      rows[-1].get("gpu_peak_mib"), "source dev", round(m["best_score"], 4), "target", m["target_eval"])
PY
}
run() {
  name=$1; shift
  /usr/bin/time -f "$name: wall %e s, peak RSS %M KB" $PY -m mltl -q train "$@" -o "$RUNS/$name" \
      > "$LOGS/$name.log" 2>&1 || { echo "$name failed:"; tail -3 "$LOGS/$name.log"; return; }
  tail -1 "$LOGS/$name.log"; summary "$RUNS/$name"
}
run fp32 $NER --device $DEVICE --batch-size 16 --max-steps $STEPS
run amp $NER --device $DEVICE --amp --batch-size 16 --max-steps $STEPS
run bwe $NER --device $DEVICE --arch bwe --batch-size 16 --max-steps $STEPS
run b64 $NER --device $DEVICE --batch-size 64 --max-steps $((2 * EVERY))
run resume $NER --device $DEVICE --batch-size 16 --max-steps $EVERY
$PY -m mltl -q train --resume "$RUNS/resume" --max-steps $((2 * EVERY)) > "$LOGS/resume2.log" 2>&1
echo "resume to $((2 * EVERY)) steps: rc=$?"; summary "$RUNS/resume"
$PY -m mltl evaluate --model "$RUNS/fp32/model-best" --device $DEVICE "$DATA/de/test.jsonl" 2>&1 | head -8
$PY -m mltl -q predict "$DATA/de/test.jsonl" --input-format jsonl --model "$RUNS/fp32/model-best" \
    --device $DEVICE --format jsonl -o "$RUNS/pred.jsonl" && echo "predict: $(wc -l < "$RUNS/pred.jsonl") sentences"
run cpu2 $NER --device cpu --threads 2 --batch-size 16 --max-steps $EVERY
$PY - "$DATA" "$VEC" "$RUNS/prof" "$DEVICE" $((STEPS < 40 ? STEPS : 40)) <<'PY' > "$LOGS/profile.txt" 2>&1
import sys
from torch.profiler import ProfilerActivity, profile
from mltl.cli import main
data, vec, out, device, steps = sys.argv[1:]
args = ["-q", "train", "--task", "tagging", "--sources", "en,es,fr", "--target", "de", "--data", data,
        "--vectors", vec, "--lowercase", "en,es,fr,de", "--char-cnn", "--k", "1", "--patience", "0",
        "--checkpoint-every", "100000", "--seed", "1", "--force", "--device", device, "--batch-size", "16",
        "--max-steps", steps, "--steps-per-epoch", steps, "-o", out]
acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
with profile(activities=acts) as prof:
    try:
        main(args)
    except SystemExit:
        pass
ka = prof.key_averages()
print(ka.table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=50))
if device.startswith("cuda"):
    print(ka.table(sort_by="self_cuda_time_total", row_limit=15, max_name_column_width=50))
PY
grep -E "Self (CPU|CUDA) time total" "$LOGS/profile.txt" | head -2
rm -rf "$RUNS"
