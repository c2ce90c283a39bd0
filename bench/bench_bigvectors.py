"""Issue 21: real-size pretrained vectors (fastText ``cc.xx.300.vec``: 2,000,000 words x 300).

    python bench/bench_bigvectors.py                       # 2,000,000 x 300 (two 4.5 GB .vec files)
    python bench/bench_bigvectors.py --rows 200000 --dim 50   # a quick smaller shape

Writes two synthetic fastText text files (``en.vec``, ``de.vec``: header ``ROWS DIM``, then one
word and DIM values in fastText's 4-decimal format per line) under ``--work``
(default ``bench/work/bigvec/``, git-ignored). Their first rows are the words of the shipped
NER examples (``examples/data/ner``, prepared with ``mltl prepare``), the rest unique filler
tokens shared by both languages (so ``--method identical`` has a seed); values are random:
memory and time are measured, not quality. Each step then runs as a child process through
the real CLI, and its wall time and peak RSS (``wait4``'s ``ru_maxrss``) are printed:

* ``align``: ``mltl align --method identical --max-vocab 200000 --max-iters 1 --out-format dir``
  (one refinement iteration: on random vectors the objective creeps up for all 10, which
  would time the maths, not the reading);
* ``align-all`` (not run by default): ``mltl align --max-vocab 0 --out-format dir --dtype float16``,
  the only way the CLI had to write the compact form of a whole file before ``convert``;
* ``convert``: ``python -m mltl.embeddings.convert de.vec DIR --dtype float16`` (all rows);
* ``train``: ``mltl train --vectors`` on the two files (a few steps of the example's NER task);
* ``predict``: ``mltl predict --lang nl --vectors DIR`` (the float16 directory as a zero-shot
  language) on 50 sentences.

The files are reused by later invocations with the same shape (``--regen`` rewrites them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train_memory import data_words  # noqa: E402  (the data's words: one definition)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "data"
LANGS = ("en", "de")


CODE = ROOT  # the source tree whose `mltl` the steps run (--code)


def run_step(name: str, cmd: list[str], log: Path) -> dict:
    """Run ``cmd``; its wall time and peak RSS (this child and the children it waited for)."""
    t0 = time.perf_counter()
    with open(log, "w") as f:
        # `python -m` puts the working directory first on sys.path: the tree in CODE is imported.
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=CODE)
        _, status, ru = os.wait4(p.pid, 0)
    p.returncode = rc = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if rc != 0:
        sys.stderr.write(log.read_text()[-3000:])
        raise SystemExit(f"{name} failed (exit {rc}): {' '.join(cmd)}")
    res = {"step": name, "wall_s": round(wall, 1), "peak_rss_mb": round(ru.ru_maxrss / 1024), "cmd": cmd}
    print(f"{name}: {wall:.1f} s, peak RSS {ru.ru_maxrss / 1024**2:.2f} GB", file=sys.stderr, flush=True)
    return res


def mltl(*args: str) -> list[str]:
    return [sys.executable, "-m", "mltl", "-q", *args]


def prepare(work: Path) -> Path:
    data = work / "data"
    for lang in LANGS:
        if (data / lang / "meta.json").exists():
            continue
        ner = EXAMPLES / "ner" / lang
        cmd = mltl(
            "prepare", "--task", "tagging", "--lang", lang, "--force",
            str(ner / "train.txt"), str(ner / "dev.txt"), str(ner / "test.txt"),
            "--unlabeled-text", str(EXAMPLES / "unlabeled" / f"{lang}.txt"), "-o", str(data / lang),
        )  # fmt: skip
        subprocess.run(cmd, check=True, cwd=ROOT)
    return data


def filler_words(n: int, avoid: set[str]) -> list[str]:
    """``n`` unique lowercase token-like strings (base-26 spellings), none in ``avoid``."""
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    out: list[str] = []
    i = 26**3  # at least four letters
    while len(out) < n:
        k, s = i, []
        while k:
            k, r = divmod(k, 26)
            s.append(letters[r])
        w = "".join(s)
        if w not in avoid:
            out.append(w)
        i += 1
    return out


def value_table() -> np.ndarray:
    """Byte spellings of -0.9999 .. 0.9999 as fastText prints them (' -0.0123'), NUL-padded to 8."""
    table = np.zeros((19999, 8), dtype=np.uint8)
    for j, v in enumerate(range(-9999, 10000)):
        b = (" %.4f" % (v / 10000)).encode()
        table[j, : len(b)] = np.frombuffer(b, dtype=np.uint8)
    return table


def write_vec(path: Path, words: list[str], dim: int, seed: int, chunk: int = 16384) -> None:
    """A fastText-style ``.vec``: header, then ``word v1 .. vdim`` rows, built in numpy by chunks."""
    rng = np.random.default_rng(seed)
    table = value_table()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(f"{len(words)} {dim}\n".encode())
        for start in range(0, len(words), chunk):
            block = [w.encode() for w in words[start : start + chunk]]
            n, width = len(block), max(len(b) for b in block)
            wb = np.frombuffer(b"".join(b.ljust(width, b"\0") for b in block), dtype=np.uint8).reshape(n, width)
            vals = np.clip(np.rint(rng.normal(0.0, 0.05, size=(n, dim)) * 10000), -9999, 9999).astype(np.int64)
            row = np.concatenate([wb, table[vals + 9999].reshape(n, dim * 8), np.full((n, 1), 10, np.uint8)], axis=1)
            f.write(row[row != 0].tobytes())
    tmp.rename(path)


def make_vectors(work: Path, data: Path, rows: int, dim: int, regen: bool) -> Path:
    vec = work / f"vec-{rows}x{dim}"
    vec.mkdir(parents=True, exist_ok=True)
    words = {lang: data_words(data / lang) for lang in LANGS}
    avoid = set().union(*words.values())
    filler = filler_words(rows, avoid)
    for i, lang in enumerate(LANGS):
        path = vec / f"{lang}.vec"
        if path.exists() and not regen:
            continue
        mine = words[lang][:rows]
        t0 = time.perf_counter()
        write_vec(path, mine + filler[: rows - len(mine)], dim, seed=i)
        size = path.stat().st_size
        print(f"wrote {path} ({size / 1e9:.2f} GB, {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return vec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "bigvec")
    ap.add_argument("--steps", default="align,convert,train,predict", help="comma-separated subset (also: align-all)")
    ap.add_argument("--train-steps", type=int, default=10)
    ap.add_argument("--regen", action="store_true", help="rewrite the .vec files")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="run the steps with the mltl package of this tree, e.g. an older revision for a before/after "
        "(mkdir /tmp/base && git archive REV mltl | tar -x -C /tmp/base)",
    )
    ap.add_argument("--out", type=Path, help="step outputs (default: WORK/out-ROWSxDIM)")
    a = ap.parse_args()
    global CODE
    CODE = a.code.resolve()
    a.work = a.work.resolve()  # the steps run in CODE: every path they get is absolute
    a.out = a.out.resolve() if a.out else None
    steps = a.steps.split(",")
    a.work.mkdir(parents=True, exist_ok=True)
    data = prepare(a.work)
    vec = make_vectors(a.work, data, a.rows, a.dim, a.regen)
    out = a.out or a.work / f"out-{a.rows}x{a.dim}"
    out.mkdir(parents=True, exist_ok=True)
    vec_gb = (vec / "de.vec").stat().st_size / 1e9
    f32_gb = a.rows * a.dim * 4 / 1e9
    results = []
    if "align" in steps:
        cmd = mltl(
            "align", "--hub", "en", str(vec / "en.vec"), str(vec / "de.vec"), "--method", "identical",
            "--max-vocab", "200000", "--max-iters", "1", "--out-format", "dir", "--force", "-o", str(out / "aligned"),
        )  # fmt: skip
        results.append(run_step("align --max-vocab 200000", cmd, out / "align.log"))
    if "align-all" in steps:  # what converting took before `python -m mltl.embeddings.convert`: aligning all rows
        cmd = mltl(
            "align", "--hub", "en", str(vec / "en.vec"), str(vec / "de.vec"), "--method", "identical",
            "--max-vocab", "0", "--max-iters", "1", "--out-format", "dir", "--dtype", "float16", "--force",
            "-o", str(out / "aligned-all"),
        )  # fmt: skip
        results.append(run_step("align --max-vocab 0 --out-format dir --dtype float16", cmd, out / "align-all.log"))
    conv = out / "de16"
    if "convert" in steps:
        shutil.rmtree(conv, ignore_errors=True)
        cmd = [sys.executable, "-m", "mltl.embeddings.convert", str(vec / "de.vec"), str(conv), "--dtype", "float16"]
        results.append(run_step("convert .vec -> dir float16", cmd, out / "convert.log"))
    if "train" in steps:
        cmd = mltl(
            "train", "--task", "tagging", "--sources", "en", "--target", "de", "--data", str(data),
            "--vectors", str(vec), "--max-steps", str(a.train_steps), "--steps-per-epoch", str(a.train_steps),
            "--threads", "2", "--force", "-o", str(out / "model"),
        )  # fmt: skip
        results.append(run_step("train --vectors (2 x .vec)", cmd, out / "train.log"))
    if "predict" in steps:
        text = (EXAMPLES / "unlabeled" / "de.txt").read_text(encoding="utf-8").splitlines()[:50]
        (out / "input.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
        cmd = mltl(
            "predict", "--model", str(out / "model" / "model-best"), "--lang", "nl", "--vectors", str(conv),
            "--tokenizer", "whitespace", str(out / "input.txt"), "-o", str(out / "pred.jsonl"), "--format", "jsonl",
        )  # fmt: skip
        results.append(run_step("predict --vectors DIR (zero-shot)", cmd, out / "predict.log"))
    print(f"\nvectors: 2 x {a.rows:,} x {a.dim} .vec ({vec_gb:.2f} GB each; float32 matrix {f32_gb:.2f} GB)\n")
    print("| step | wall s | peak RSS |")
    print("|---|---|---|")
    for r in results:
        print(f"| {r['step']} | {r['wall_s']:.1f} | {r['peak_rss_mb'] / 1024:.2f} GB |")
    if a.json:
        a.json.write_text(json.dumps({"rows": a.rows, "dim": a.dim, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
