"""Gold benchmarks (issue 17): CoNLL NER and Amazon-review (MARC) transfer tables on real
gold data, every set turned into mltl datasets by `mltl prepare` exactly as a user would.

    python bench/run.py --suite gold --quick      # same as: python bench/gold.py --quick
    python bench/gold.py                          # 3 seeds, every target; resumable
    python bench/gold.py --reuse-only             # tabulate what has finished

Data root: --data-root (default ../shared/data beside the repository). Nothing from it is
copied into the repository: datasets, vectors and runs live in bench/work/gold-{quick,full}/.

Pipeline (each step cached in the work directory, so a rerun continues):

1. ``mltl prepare`` for every labeled file (commands in commands.txt; flags per layout in
   docs/formats.md). German as a NER *source* trains on Europarl-de; as a target its dev/test
   are CoNLL-2003 deu.testa/deu.testb.
2. One text corpus per language: the tokens of every prepared split of every set (labels
   never read). ``mltl prepare --unlabeled --tokenizer whitespace`` turns the train/dev part
   into each dataset's unlabeled.jsonl (text for the language discriminator D; test text is
   not used there); ``mltl embed`` trains fastText vectors on all of it.
3. MUSE dictionaries split by source word (seeded, disjoint): up to 1,500 source words that
   have a vector for test (see split_dicts),
   the rest for training; ``mltl align --method supervised`` maps every language into
   English and reports BLI on the test split (P@1/P@5, NN and CSLS).
4. ``mltl train`` per (table, target, system, seed); selection by mean *source* dev score;
   the target test score is read from metrics.json, target labels are never used for
   selection.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MLTL = [sys.executable, "-m", "mltl"]
LOG: list[str] = []

# name -> extra train flags (the paper's systems; BWE 1-to-1 trains on English alone)
SYSTEMS = {
    "MAN-MoE": [],
    "−C-MoE": ["--no-c-moe"],
    "−Fp-MoE": ["--no-fp-moe"],
    "MAN": ["--arch", "man"],
    "−MAN": ["--no-adversary"],
    "BWE 1-to-1 (en)": ["--arch", "bwe"],
    "BWE multi-source": ["--arch", "bwe"],
    "supervised (target labels)": ["--arch", "bwe"],
}
QUICK_SYSTEMS = ["MAN-MoE", "MAN", "BWE multi-source", "BWE 1-to-1 (en)"]
# CoNLL learns slowly (source dev F1 0 for the first ~250 steps, still rising at 4,000; see
# docs/benchmarks.md "step budget"): the quick suite trains two systems there, longer.
QUICK_CONLL_SYSTEMS = ["MAN-MoE", "BWE multi-source"]

# The paper's published numbers (Chen et al. 2019; ../shared/seed/man-moe-paper.txt).
# Table 4 (CoNLL, entity F1): "MAN-MoE+CharCNN", "BWE+CharCNN (3-to-1)" / "(1-to-1)" — the same
# protocol as ours (other vectors: theirs were Wikipedia-scale). Table 5 is Prettenhofer & Stein's
# Amazon reviews (books/dvd/music, averaged here), not MARC: same task and languages, another
# dataset, so those rows are context, not a like-for-like comparison.
PAPER = {
    "conll": {
        "MAN-MoE": {"de": 56.7, "es": 71.0, "nl": 70.9},
        "BWE multi-source": {"de": 55.8, "es": 70.4, "nl": 69.8},
        "BWE 1-to-1 (en)": {"de": 51.5, "es": 61.0, "nl": 67.3},
    },
    "marc": {
        "MAN-MoE": {"de": 79.45, "fr": 82.08, "ja": 68.16},
        "BWE multi-source": {"de": 77.50, "fr": 79.05, "ja": 53.43},
        "BWE 1-to-1 (en)": {"de": 75.27, "fr": 78.17, "ja": 55.94},
    },
}
PAPER_LABEL = {"conll": "paper, Table 4", "marc": "paper, Table 5 (Webis-CLS-10 avg, another dataset)"}


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd: list, log: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [str(c) for c in cmd]
    LOG.append(" ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(cmd)}\n{r.stdout}\n{r.stderr}", encoding="utf-8")
    if check and r.returncode:
        raise RuntimeError(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return r


# ---------------------------------------------------------------- 1. datasets


def ner_inputs(root: Path) -> dict[str, tuple[list, list[Path]]]:
    """language -> (prepare flags, [train, dev, test]) for the CoNLL table."""
    n = root / "ner"
    return {
        "en": (["--format", "conll2003"], [n / "conll2003-en" / f"eng.{s}" for s in ("train", "testa", "testb")]),
        "es": (["--format", "conll", "--repair"], [n / "conll2002" / f"esp.{s}" for s in ("train", "testa", "testb")]),
        "nl": (["--format", "conll", "--repair"], [n / "conll2002" / f"ned.{s}" for s in ("train", "testa", "testb")]),
        # German: Europarl train (IOB1) as the source training set, CoNLL-2003 dev/test (BIO)
        "de": (
            ["--format", "conll", "--repair"],
            [n / "europarl-de" / "train.tsv", n / "conll2003-de" / "deu.testa", n / "conll2003-de" / "deu.testb"],
        ),
    }


MARC_FLAGS = [
    "--task",
    "classification",
    "--format",
    "csv",
    "--no-header",
    "--text-field",
    "1",
    "--label-field",
    "2",
    "--label-map",
    "1=negative,2=negative,3=,4=positive,5=positive",
]


def marc_inputs(root: Path, langs: list[str]) -> dict[str, tuple[list, list[Path]]]:
    c = root / "cls" / "marc"
    return {l: (MARC_FLAGS, [c / l / f"{s}.csv" for s in ("train", "dev", "test")]) for l in langs}


def prepare(work: Path, table: str, inputs: dict, text_dir: Path | None) -> None:
    for lang, (flags, files) in inputs.items():
        out = work / "data" / table / lang
        unl = []
        if text_dir is not None:
            unl = ["--unlabeled-text", text_dir / f"{lang}.d.txt"]
            if table.startswith("conll"):
                # the text is tokens joined by spaces: split it back exactly. (Classification keeps
                # spaCy: --tokenizer also tokenizes its labeled documents.)
                unl += ["--tokenizer", "whitespace"]
        if (out / "meta.json").exists() and (text_dir is None or (out / "unlabeled.jsonl").exists()):
            continue
        say(f"prepare {table}/{lang}")
        sh(
            MLTL + ["-q", "prepare", "--lang", lang, *flags, *files, *unl, "--force", "-o", out],
            log=work / "logs" / f"prepare-{table}-{lang}.log",
        )


def write_text(work: Path, langs: list[str]) -> Path:
    """Per language: {lang}.all.txt (every split, for vectors) and {lang}.d.txt (train/dev, for D)."""
    text = work / "text"
    text.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        if (text / f"{lang}.all.txt").exists():
            continue
        with (
            open(text / f"{lang}.all.txt.tmp", "w", encoding="utf-8") as all_f,
            open(text / f"{lang}.d.txt", "w", encoding="utf-8") as d_f,
        ):
            for ds in sorted((work / "data").glob(f"*/{lang}")):
                for split in ("train", "dev", "test"):
                    p = ds / f"{split}.jsonl"
                    if not p.exists():
                        continue
                    for line in open(p, encoding="utf-8"):
                        toks = json.loads(line)["tokens"]
                        s = " ".join(toks) + "\n"
                        all_f.write(s)
                        if split != "test":
                            d_f.write(s)
        (text / f"{lang}.all.txt.tmp").rename(text / f"{lang}.all.txt")
    return text


# ---------------------------------------------------------------- 2. vectors


def embed(a, work: Path, langs: list[str], text: Path) -> dict:
    info = {}
    for lang in langs:
        out = work / "vectors" / lang
        if not out.with_suffix(".vec").exists():
            say(f"embed {lang}")
            # The corpus is already tokenized: prepare it as whitespace-tokenized unlabeled text.
            ds = work / "text-ds" / lang
            if not (ds / "meta.json").exists():
                sh(
                    MLTL
                    + [
                        "-q",
                        "prepare",
                        "--task",
                        "unlabeled",
                        "--lang",
                        lang,
                        "--tokenizer",
                        "whitespace",
                        text / f"{lang}.all.txt",
                        "--force",
                        "-o",
                        ds,
                    ]
                )
            sh(
                MLTL
                + [
                    "-q",
                    "embed",
                    "--lang",
                    lang,
                    ds / "unlabeled.jsonl",
                    "--dim",
                    str(a.dim),
                    "--min-count",
                    str(a.min_count),
                    "--epoch",
                    str(a.epoch),
                    "--seed",
                    "1",
                    "-o",
                    out,
                ],
                log=work / "logs" / f"embed-{lang}.log",
            )
        meta = json.loads((work / "text-ds" / lang / "meta.json").read_text())
        info[lang] = {
            "tokens": meta["splits"]["unlabeled"]["tokens"],
            "words": int(open(out.with_suffix(".vec"), encoding="utf-8").readline().split()[0]),
        }
    return info


def split_dicts(root: Path, work: Path, langs: list[str], n_test: int = 1500, seed: int = 1) -> Path:
    """MUSE full dictionaries -> train/test files disjoint by source word (seeded).

    Test words are drawn from the dictionary's source words that have a vector (our
    vocabularies are 5–14k words; drawn from the whole 20–100k-word dictionary, only 3–8 %
    of a test split could be queried): at most ``n_test``, and never more than half of them,
    so training keeps the other half. Every other pair (all translations of the other source
    words) is training data.
    """
    d = work / "dicts"
    for lang in langs:
        if lang == "en" or (d / "test" / f"{lang}-en.txt").exists():
            continue
        with open(work / "vectors" / f"{lang}.vec", encoding="utf-8") as f:
            next(f)
            vocab = {ln.split(" ", 1)[0] for ln in f}
        pairs = [ln.split() for ln in open(root / "dicts" / "muse" / f"{lang}-en.txt", encoding="utf-8")]
        pairs = [p for p in pairs if len(p) == 2]
        srcs = sorted({p[0] for p in pairs if p[0] in vocab})
        random.Random(seed).shuffle(srcs)
        test = set(srcs[: min(n_test, len(srcs) // 2)])
        for part, keep in (("train", lambda w: w not in test), ("test", lambda w: w in test)):
            (d / part).mkdir(parents=True, exist_ok=True)
            with open(d / part / f"{lang}-en.txt", "w", encoding="utf-8") as f:
                f.writelines(f"{s} {t}\n" for s, t in pairs if keep(s))
    return d


def align(work: Path, langs: list[str], dicts: Path) -> tuple[Path, dict]:
    out = work / "aligned"
    if not (out / "alignment.json").exists():
        say("align (supervised, MUSE train split)")
        sh(
            MLTL
            + [
                "-q",
                "align",
                "--hub",
                "en",
                *[work / "vectors" / f"{l}.vec" for l in langs],
                "--method",
                "supervised",
                "--dict",
                dicts / "train",
                "--eval-dict",
                dicts / "test",
                "--force",
                "-o",
                out,
            ],
            log=work / "logs" / "align.log",
        )
    return out, json.loads((out / "alignment.json").read_text())


# ---------------------------------------------------------------- 3. training runs


def run_one(
    a, work: Path, xl: Path, table: str, task: str, target: str, pool: list[str], system: str, seed: int
) -> dict | None:
    steps = a.conll_steps if table == "conll" else a.steps
    # the step budget is part of a run's name: a run is reused only for the same budget
    run = work / "runs" / f"{table}-{target}-{system.replace(' ', '_').replace('/', '')}-s{seed}-{steps}"
    sources = [l for l in pool if l != target]
    data = work / "data" / table
    extra: list = []
    if system == "BWE 1-to-1 (en)":
        sources = ["en"]
    if system.startswith("supervised"):
        # the target's own training labels (German NER: deu.testa, prepared as data/conll-sup/de)
        sources = [target]
        if table == "conll" and target == "de":
            data = work / "data" / "conll-sup"
    # finished = metrics, log and model-best (an interrupted run also writes metrics.json)
    done = all((run / f).exists() for f in ("metrics.json", "train_log.jsonl", "model-best"))
    if not done:
        if a.reuse_only:
            return None
        # source dev is evaluated (and the best step kept) --evals times
        flags = [
            "--batch-size",
            str(a.batch),
            "--max-steps",
            str(steps),
            "--steps-per-epoch",
            str(max(1, steps // a.evals)),
            "--patience",
            "0",
            "--threads",
            "1",
            "--checkpoint-every",
            "100000",
        ]
        if task == "tagging":
            # the paper lowercases words; CharCNN sees cased characters except for German (§4.2)
            flags += ["--char-cnn", "--k", "1"]
        else:
            flags += ["--no-char-cnn"]
        flags += ["--lowercase", ",".join(sorted(set(pool) | {target}))]
        # supervised: a stand-in target (BWE has no D, so it reads only its vectors); scored below
        tgt = ("en" if target != "en" else "de") if system.startswith("supervised") else target
        cmd = MLTL + [
            "-q",
            "train",
            "--task",
            task,
            "--sources",
            ",".join(sources),
            "--target",
            tgt,
            "--data",
            data,
            "--vectors",
            xl,
            "--seed",
            str(seed),
            "--force",
            "-o",
            run,
            *flags,
            *SYSTEMS[system],
            *extra,
        ]
        say(f"train {run.name}")
        sh(cmd, log=run.with_suffix(".log"))
    m = json.loads((run / "metrics.json").read_text())
    logs = [json.loads(ln) for ln in open(run / "train_log.jsonl", encoding="utf-8") if ln.strip()]
    if system.startswith("supervised"):
        cache = run / "eval-test.json"
        if not cache.exists():
            r = sh(
                MLTL
                + [
                    "evaluate",
                    "--model",
                    run / "model-best",
                    "--lang",
                    target,
                    "--json",
                    data / target / "test.jsonl",
                    "--input-format",
                    "jsonl",
                ]
            )
            cache.write_text(r.stdout, encoding="utf-8")
        ev = json.loads(cache.read_text(encoding="utf-8"))
        test = ev.get("f1", ev.get("accuracy"))
    else:
        test = m["target_eval"]["test"]
    return {
        "table": table,
        "target": target,
        "system": system,
        "seed": seed,
        "test": test,
        "source_dev": m["best_score"],
        "best_step": m.get("best_step"),
        "D_acc": logs[-1].get("D_acc"),
        "seconds": logs[-1].get("seconds"),
        "run": run.name,
    }


def fmt(xs: list[float]) -> str:
    if not xs:
        return "–"
    xs = [100 * x for x in xs]
    if len(xs) == 1:
        return f"{xs[0]:.1f}"
    return f"{statistics.mean(xs):.1f} ± {statistics.stdev(xs):.1f}"


def table_md(rows: list[dict], table: str, targets: list[str], systems: list[str], seeds: list[int]) -> str:
    out = ["| system | " + " | ".join(f"→ {t}" for t in targets) + " | mean |", "|---" * (len(targets) + 2) + "|"]
    for s in systems:
        cells, means = [], []
        for t in targets:
            xs = [r["test"] for r in rows if r["table"] == table and r["target"] == t and r["system"] == s]
            cell = fmt(xs)
            if xs and len(xs) < len(seeds):
                cell += f" (n={len(xs)})"
            cells.append(cell)
            if xs:
                means.append(statistics.mean(xs))
        mean = f"{100 * statistics.mean(means):.1f}" if len(means) == len(targets) else "–"
        out.append(f"| {s} | " + " | ".join(cells) + f" | {mean} |")
        paper = PAPER.get(table, {}).get(s)
        if paper:
            out.append(
                f"| {s}, {PAPER_LABEL[table]} | "
                + " | ".join(f"{paper[t]:.1f}" if t in paper else "–" for t in targets)
                + " | |"
            )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--quick", action="store_true", help="1 seed, fewer systems and steps")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--tables", default="conll,marc")
    ap.add_argument("--seeds", default=None)
    ap.add_argument("--steps", type=int, default=None, help="MARC steps (default 300 quick, 3000 full)")
    ap.add_argument("--conll-steps", type=int, default=None, help="CoNLL steps (default 1000 quick, 4000 full)")
    ap.add_argument("--evals", type=int, default=None, help="source dev evaluations per run (3 quick, 8 full)")
    ap.add_argument("--systems", default=None, help="comma-separated system names (default: all; --quick: 4)")
    ap.add_argument("--conll-targets", default=None, help="default de (quick) or de,es,nl")
    ap.add_argument("--marc-targets", default=None)
    ap.add_argument("--jobs", type=int, default=2, help="training runs at a time (1 torch thread each)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--min-count", type=int, default=3)
    ap.add_argument("--epoch", type=int, default=10)
    ap.add_argument("--reuse-only", action="store_true", help="train nothing; tabulate finished runs")
    a = ap.parse_args()
    if not a.data_root.is_dir():
        sys.exit(f"error: no gold data at {a.data_root} (give --data-root; see ../shared/data/README.md)")
    a.work = a.work or ROOT / "bench" / "work" / ("gold-quick" if a.quick else "gold-full")
    seeds = [int(s) for s in (a.seeds or ("1" if a.quick else "1,2,3")).split(",")]
    a.steps = a.steps or (300 if a.quick else 3000)
    a.conll_steps = a.conll_steps or (1000 if a.quick else 4000)
    a.evals = a.evals or (3 if a.quick else 8)
    systems = a.systems.split(",") if a.systems else (QUICK_SYSTEMS if a.quick else list(SYSTEMS))
    conll_systems = a.systems.split(",") if a.systems else (QUICK_CONLL_SYSTEMS if a.quick else list(SYSTEMS))
    tables = a.tables.split(",")
    marc_targets = (a.marc_targets or ("de,fr" if a.quick else "de,fr,ja,es,zh")).split(",")
    a.conll_targets = a.conll_targets or ("de" if a.quick else "de,es,nl")
    t0 = time.time()
    a.work.mkdir(parents=True, exist_ok=True)

    ner = ner_inputs(a.data_root) if "conll" in tables else {}
    marc_langs = sorted(set(marc_targets) | {"en", "de", "fr", "ja"}) if "marc" in tables else []
    marc = marc_inputs(a.data_root, marc_langs)
    # first pass: labeled data only (its text makes the unlabeled corpora), then again with text for D
    prepare(a.work, "conll", ner, None)
    prepare(a.work, "marc", marc, None)
    if "conll" in tables and "supervised (target labels)" in conll_systems:
        # German's supervised upper bound trains on deu.testa (there is no deu.train), selects on
        # Europarl dev, is scored on deu.testb; English stands in as the run's (unused) target.
        n = a.data_root / "ner"
        prepare(
            a.work,
            "conll-sup",
            {
                "de": (
                    ["--format", "conll", "--repair"],
                    [n / "conll2003-de" / "deu.testa", n / "europarl-de" / "dev.tsv", n / "conll2003-de" / "deu.testb"],
                )
            },
            None,
        )
        en_link = a.work / "data" / "conll-sup" / "en"
        if not en_link.exists():
            en_link.symlink_to(a.work / "data" / "conll" / "en", target_is_directory=True)
    langs = sorted(set(ner) | set(marc))
    text = write_text(a.work, langs)
    prepare(a.work, "conll", ner, text)
    prepare(a.work, "marc", marc, text)
    vec_info = embed(a, a.work, langs, text)
    dicts = split_dicts(a.data_root, a.work, langs)
    xl, alignment = align(a.work, langs, dicts)

    jobs = []
    if "conll" in tables:
        for t in a.conll_targets.split(","):
            jobs += [
                ("conll", "tagging", t, ["en", "de", "es", "nl"], s, seed) for seed in seeds for s in conll_systems
            ]
    if "marc" in tables:
        for t in marc_targets:
            jobs += [
                ("marc", "classification", t, ["en", "de", "fr", "ja"], s, seed) for seed in seeds for s in systems
            ]
    rows, failed = [], []

    def go(j):
        table, task, target, pool, system, seed = j
        try:
            return run_one(a, a.work, xl, table, task, target, pool, system, seed)
        except RuntimeError as exc:
            failed.append(f"{table}-{target}-{system}-s{seed}: {str(exc).splitlines()[-1][:300]}")
            return None

    with ThreadPoolExecutor(a.jobs) as ex:
        for r in ex.map(go, jobs):
            if r:
                rows.append(r)
    res = {
        "vectors": vec_info,
        "alignment": alignment,
        "runs": rows,
        "failed": failed,
        "minutes": round((time.time() - t0) / 60, 1),
    }
    (a.work / "results.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    (a.work / "commands.txt").write_text("\n".join(LOG) + "\n", encoding="utf-8")
    md = [
        f"# Gold benchmarks ({'quick' if a.quick else 'full'}; seeds {','.join(map(str, seeds))}; "
        f"CoNLL {a.conll_steps} / MARC {a.steps} steps; {res['minutes']} min)",
        "",
    ]
    md += [
        "## Vectors (fastText on the sets' own text) and BLI on the MUSE test split",
        "",
        "| lang | tokens | words |",
        "|---|---|---|",
    ]
    md += [f"| {l} | {v['tokens']:,} | {v['words']:,} |" for l, v in vec_info.items()]
    md += ["", "| pair | queries (coverage %) | NN P@1 | NN P@5 | CSLS P@1 | CSLS P@5 |", "|---|---|---|---|---|---|"]
    for lang, b in alignment.get("bli", {}).items():
        md.append(
            f"| {lang}→en | {b['queries']:,} ({b['coverage']}) | {b['nn']['p@1']} | {b['nn']['p@5']} | "
            f"{b['csls']['p@1']} | {b['csls']['p@5']} |"
        )
    md.append("")
    if "conll" in tables:
        md += [
            "## CoNLL NER (entity F1, target test)",
            "",
            table_md(rows, "conll", a.conll_targets.split(","), conll_systems, seeds),
            "",
        ]
    if "marc" in tables:
        md += [
            "## MARC binary sentiment (accuracy, target test)",
            "",
            table_md(rows, "marc", marc_targets, systems, seeds),
            "",
        ]
    md += ["## Per run", "", "| run | test | source dev | best step | D acc | s |", "|---|---|---|---|---|---|"]
    md += [
        f"| {r['run']} | {100 * r['test']:.1f} | {100 * r['source_dev']:.1f} | {r['best_step']} | "
        f"{r['D_acc'] if r['D_acc'] is None else round(r['D_acc'], 3)} | {r['seconds'] and round(r['seconds'])} |"
        for r in sorted(rows, key=lambda r: r["run"])
    ]
    if failed:
        md += ["", "## Failed runs", ""] + [f"- {f}" for f in failed]
    text_md = "\n".join(md) + "\n"
    (a.work / "results.md").write_text(text_md, encoding="utf-8")
    print(text_md)


if __name__ == "__main__":
    main()
