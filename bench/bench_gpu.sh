#!/bin/bash
# S1 on a CUDA GPU: MAN-MoE (fp32, bf16 autocast, batch 64), BWE, resume, evaluate and
# predict on the GPU, and a torch.profiler table of 40 steps. Needs only torch, typer,
# rich and numpy beside mltl (no spaCy: the data is already prepared).
#
#   bash bench/bench_gpu.sh bench/work/quick/data-tag bench/work/quick/vectors-xling [LOGDIR]
#
# Prints one line per run: labeled tokens/s per 100 steps, peak GPU memory, scores.
set -u
DATA=${1:?DATA dir of mltl prepare outputs (en, es, fr, de)}
VEC=${2:?directory of aligned vectors}
LOGS=${3:-/tmp/mltl-gpu}
RUNS=$(mktemp -d)
mkdir -p "$LOGS"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
NER="--task tagging --sources en,es,fr --target de --data $DATA --vectors $VEC --lowercase en,es,fr,de
     --char-cnn --k 1 --patience 0 --checkpoint-every 100000 --seed 1 --force --steps-per-epoch 100"
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
run fp32 $NER --device cuda --batch-size 16 --max-steps 300
run amp $NER --device cuda --amp --batch-size 16 --max-steps 300
run bwe $NER --device cuda --arch bwe --batch-size 16 --max-steps 300
run b64 $NER --device cuda --batch-size 64 --max-steps 200
run resume $NER --device cuda --batch-size 16 --max-steps 100
$PY -m mltl -q train --resume "$RUNS/resume" --max-steps 200 > "$LOGS/resume2.log" 2>&1
echo "resume to 200 steps: rc=$?"; summary "$RUNS/resume"
$PY -m mltl evaluate --model "$RUNS/fp32/model-best" --device cuda "$DATA/de/test.jsonl" 2>&1 | head -8
$PY -m mltl -q predict "$DATA/de/test.jsonl" --input-format jsonl --model "$RUNS/fp32/model-best" \
    --device cuda --format jsonl -o "$RUNS/pred.jsonl" && echo "predict: $(wc -l < "$RUNS/pred.jsonl") sentences"
run cpu2 $NER --device cpu --threads 2 --batch-size 16 --max-steps 100
$PY - "$DATA" "$VEC" "$RUNS/prof" <<'PY' > "$LOGS/profile.txt" 2>&1
import sys
from torch.profiler import ProfilerActivity, profile
from mltl.cli import main
data, vec, out = sys.argv[1:]
args = ["-q", "train", "--task", "tagging", "--sources", "en,es,fr", "--target", "de", "--data", data,
        "--vectors", vec, "--lowercase", "en,es,fr,de", "--char-cnn", "--k", "1", "--patience", "0",
        "--checkpoint-every", "100000", "--seed", "1", "--force", "--device", "cuda", "--batch-size", "16",
        "--max-steps", "40", "--steps-per-epoch", "40", "-o", out]
with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
    try:
        main(args)
    except SystemExit:
        pass
ka = prof.key_averages()
print(ka.table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=50))
print(ka.table(sort_by="self_cuda_time_total", row_limit=15, max_name_column_width=50))
PY
grep -E "Self (CPU|CUDA) time total" "$LOGS/profile.txt" | head -2
rm -rf "$RUNS"
