"""Which vector choices raise BLI on the gold suite's languages (issue 17, item 2).

    python bench/bench_vectors.py                       # every config in CONFIGS order; cached, resumable
    python bench/bench_vectors.py --configs today,base  # some of them
    python bench/bench_vectors.py --table               # tabulate what has finished

One factor at a time from a baseline, not a grid. Every vector set is made by the real CLI:
``mltl embed`` per language (en, the hub, and every source language of --pairs) on a corpus of
already tokenized ``unlabeled.jsonl`` files, then ``mltl align --method supervised --dict …
--eval-dict …`` (Procrustes + refinement on the MUSE train split), which reports BLI on the test
split in its alignment.json.

Corpora (tokenized once, then reused by every config):

- *sets*: the gold sets' own text, ``bench/work/gold-quick/text/{lang}.all.txt`` (whitespace
  tokens, one sentence per line), copied once into WORK/text (a snapshot: gold.py may rebuild it)
  and prepared as gold.py's ``embed()`` does (``mltl prepare --task unlabeled --tokenizer
  whitespace``);
- *debian*: bench/debian_text.py's LibreOffice help, man pages and Debian Reference of the
  language, each tokenized by ``mltl prepare --task unlabeled`` (spaCy's rule-based tokenizer,
  what ``mltl embed`` would do to the raw files).

One test split for every config. Test words drawn among "source words with a vector" would
change with each config's vocabulary, so the split is made once by gold.py's ``split_dicts``
(seed 1, disjoint by source word, up to 1,500 test source words) against a fixed reference
vocabulary: the words that occur at least 5 times, lowercased, in the *sets* corpus (the
smallest corpus and the strictest min-count studied). A config whose vocabulary misses a test
word (or every English translation of it) has fewer queries: BLI's P@k is over the queries it
has, so the table also gives ``CSLS P@1 (all)`` = hits / all test source words, which counts a
missing word as a miss, and ranks configs by it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import debian_text  # noqa: E402
from gold import split_dicts  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MLTL = [sys.executable, "-m", "mltl"]

BASE = {"corpus": "sets+debian", "lowercase": True, "dim": 100, "min_count": 3, "epoch": 10, "minn": 3}
# name -> what differs from BASE. One factor at a time: the corpus and lowercasing from the
# baseline; dim, min-count, epochs and subwords from "sets" (the sets' text alone, lowercased),
# where a config costs a third of one on sets+debian (see docs/benchmarks.md for the budget).
CONFIGS: dict[str, dict] = {
    "today": {"corpus": "sets", "lowercase": False},  # what bench/gold.py embeds today
    "sets": {"corpus": "sets"},
    "base": {},
    "sets-minn0": {"corpus": "sets", "minn": 0},
    "sets-mc5": {"corpus": "sets", "min_count": 5},
    "sets-ep20": {"corpus": "sets", "epoch": 20},
    "sets-dim300": {"corpus": "sets", "dim": 300},
    "sets-mc1": {"corpus": "sets", "min_count": 1},
    "minn0": {"minn": 0},
    "cased": {"lowercase": False},
}
ALIGN_METHODS = ("identical", "unsupervised")  # --methods: on --best, --method-langs only


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd: list, log: Path) -> subprocess.CompletedProcess:
    cmd = [str(c) for c in cmd]
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    log.write_text(f"$ {' '.join(cmd)}\n# {time.time() - t0:.1f} s, exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    if r.returncode:
        raise RuntimeError(f"failed ({r.returncode}): {' '.join(cmd[:12])} …\n{r.stderr[-2000:]}")
    return r


def config(name: str) -> dict:
    return {**BASE, **CONFIGS[name]}


def changed(name: str) -> str:
    """What a config changes, from base (or from sets for the sets-* configs)."""
    if name == "base":
        return "— (the baseline)"
    ref = "sets" if name.startswith("sets-") else "base"
    diff = {k: v for k, v in CONFIGS[name].items() if k not in CONFIGS.get(ref, {})}
    words = {"corpus": "corpus", "lowercase": "lowercase", "dim": "dim", "min_count": "min-count", "epoch": "epochs"}
    parts = [
        "no subwords (--minn 0)"
        if k == "minn" and v == 0
        else f"{words.get(k, k)} {v}".replace("lowercase False", "cased")
        for k, v in diff.items()
    ]
    return f"{ref} with " + ", ".join(parts)


def describe(c: dict) -> str:
    return (
        f"{c['corpus']}, {'lowercased' if c['lowercase'] else 'cased'}, dim {c['dim']}, "
        f"min-count {c['min_count']}, {c['epoch']} epochs, " + ("no subwords" if c["minn"] == 0 else "subwords 3–6")
    )


# ---------------------------------------------------------------- corpora


def sets_corpus(a, lang: str) -> Path:
    text = a.work / "text" / f"{lang}.all.txt"
    if not text.exists():
        text.parent.mkdir(parents=True, exist_ok=True)
        src = a.gold_text / f"{lang}.all.txt"
        if not src.exists():
            sys.exit(f"error: no {src}: run `python bench/gold.py --quick` first (it writes the sets' text)")
        shutil.copyfile(src, text)
    ds = a.work / "sets" / lang
    if not (ds / "meta.json").exists():
        say(f"prepare sets/{lang}")
        sh(
            MLTL
            + ["-q", "prepare", "--task", "unlabeled", "--lang", lang, "--tokenizer", "whitespace", text]
            + ["--force", "-o", ds],
            a.work / "logs" / f"prepare-sets-{lang}.log",
        )
    return ds / "unlabeled.jsonl"


def corpus_files(a, corpus: str, lang: str) -> list[Path]:
    files = [sets_corpus(a, lang)]
    if corpus == "sets+debian":
        files += list(debian_text.prepare_sources(a.debtext, lang).values())
    return files


def tokens_of(jsonl: Path) -> int:
    meta = json.loads((jsonl.parent / "meta.json").read_text(encoding="utf-8"))
    return meta["splits"]["unlabeled"]["tokens"]


# ---------------------------------------------------------------- test split


def reference_dicts(a, langs: list[str]) -> Path:
    """gold.split_dicts against the fixed reference vocabulary (see the module docstring)."""
    ref = a.work / "ref"
    for lang in langs:
        vec = ref / "vectors" / f"{lang}.vec"
        if vec.exists():
            continue
        counts: Counter = Counter()
        for line in open(sets_corpus(a, lang), encoding="utf-8"):
            counts.update(t.lower() for t in json.loads(line)["tokens"])
        words = [w for w, c in counts.most_common() if c >= 5 and " " not in w]
        vec.parent.mkdir(parents=True, exist_ok=True)
        vec.write_text(f"{len(words)} 1\n" + "".join(f"{w} 0\n" for w in words), encoding="utf-8")
    return split_dicts(a.data_root, ref, langs)


# ---------------------------------------------------------------- one config


def embed(a, name: str, lang: str) -> dict:
    c = config(name)
    out = a.work / "runs" / name / "vectors" / lang
    summary = out.with_suffix(".json")
    if summary.exists():
        return json.loads(summary.read_text(encoding="utf-8"))
    files = corpus_files(a, c["corpus"], lang)
    say(f"embed {name}/{lang} ({describe(c)})")
    flags = ["--dim", c["dim"], "--min-count", c["min_count"], "--epoch", c["epoch"], "--minn", c["minn"]]
    if c["minn"] == 0:
        flags += ["--maxn", 0]
    if c["lowercase"]:
        flags += ["--lowercase"]
    r = sh(
        MLTL + ["-q", "embed", "--lang", lang, *files, *flags, "--seed", 1, "--threads", 1, "--json", "-o", out],
        a.work / "logs" / f"embed-{name}-{lang}.log",
    )
    s = json.loads(r.stdout.strip().splitlines()[-1])
    out.with_suffix(".bin").unlink()  # up to GBs at dim 300; align reads the .vec
    s["corpus_files"] = [str(f) for f in files]
    summary.write_text(json.dumps(s, indent=1), encoding="utf-8")
    return s


def align(a, name: str, langs: list[str], dicts: Path, method: str = "supervised") -> dict:
    out = a.work / "runs" / name / f"aligned-{method}"
    if (out / "alignment.json").exists():
        res = json.loads((out / "alignment.json").read_text(encoding="utf-8"))
        if set(langs) - {"en"} <= set(res.get("bli", {})):
            return res  # else aligned for fewer pairs before: again, with all of them
    vecs = [a.work / "runs" / name / "vectors" / f"{l}.vec" for l in langs]
    flags = ["--method", method, "--eval-dict", dicts / "test"]
    if method == "supervised":
        flags += ["--dict", dicts / "train"]
    else:
        flags += ["--seed", 1]
    say(f"align {name} --method {method} ({','.join(langs)})")
    t0 = time.time()
    sh(
        MLTL + ["-q", "align", "--hub", "en", *vecs, *flags, "--force", "-o", out],
        a.work / "logs" / f"align-{name}-{method}.log",
    )
    res = json.loads((out / "alignment.json").read_text(encoding="utf-8"))
    res["wall_seconds"] = round(time.time() - t0, 1)
    (out / "alignment.json").write_text(json.dumps(res, indent=1), encoding="utf-8")
    for f in out.glob("*.vec"):  # the mapped vectors are not needed here
        f.unlink()
    return res


# ---------------------------------------------------------------- table


def all_p1(b: dict) -> float:
    """CSLS P@1 over every test source word (a word without a query counts as a miss)."""
    return b["csls"]["p@1"] * b["queries"] / max(1, b["source_words_in_dictionary"])


def rows(a, names: list[str], pairs: list[str]) -> list[str]:
    out = [
        "| config | what differs | pair | queries (coverage %) | NN P@1 | NN P@5 | CSLS P@1 | CSLS P@5 | "
        "CSLS P@1 (all) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        for method in ("supervised", *ALIGN_METHODS):
            f = a.work / "runs" / name / f"aligned-{method}" / "alignment.json"
            if not f.exists():
                continue
            bli = json.loads(f.read_text(encoding="utf-8")).get("bli", {})
            diff = changed(name) if method == "supervised" else f"{name}'s vectors, aligned by {method}"
            label = name if method == "supervised" else f"{name}, --method {method}"
            means = []
            for p in pairs:
                b = bli.get(p)
                if b is None:
                    continue
                means.append((b["nn"]["p@1"], b["nn"]["p@5"], b["csls"]["p@1"], b["csls"]["p@5"], all_p1(b)))
                out.append(
                    f"| {label} | {diff} | {p}→en | {b['queries']:,} ({b['coverage']}) | {b['nn']['p@1']:.2f} | "
                    f"{b['nn']['p@5']:.2f} | {b['csls']['p@1']:.2f} | {b['csls']['p@5']:.2f} | {all_p1(b):.2f} |"
                )
            if len(means) == len(pairs) and len(pairs) > 1:
                m = [sum(x[i] for x in means) / len(means) for i in range(5)]
                out.append(
                    f"| **{label}** | {diff} | **mean** | | {m[0]:.2f} | {m[1]:.2f} | **{m[2]:.2f}** | {m[3]:.2f} | "
                    f"**{m[4]:.2f}** |"
                )
    return out


def embed_table(a, names: list[str], langs: list[str]) -> list[str]:
    out = ["| config | lang | tokens | words | tokenize s | train s |", "|---|---|---|---|---|---|"]
    for name in names:
        for lang in langs:
            f = a.work / "runs" / name / "vectors" / f"{lang}.json"
            if f.exists():
                s = json.loads(f.read_text(encoding="utf-8"))
                out.append(
                    f"| {name} | {lang} | {s['tokens']:,} | {s['vocab']:,} | {s['tokenize_seconds']:.0f} | "
                    f"{s['train_seconds']:.0f} |"
                )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "vectors-study")
    ap.add_argument("--debtext", type=Path, default=ROOT / "bench" / "work" / "debtext")
    ap.add_argument("--debs", type=Path, default=None, help="already downloaded .deb files (debian_text.py --debs)")
    ap.add_argument("--gold-text", type=Path, default=ROOT / "bench" / "work" / "gold-quick" / "text")
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--pairs", default="de,es,nl,fr")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--methods", default="", help="also align --best with these methods (identical,unsupervised)")
    ap.add_argument("--best", default="base", help="the config --methods aligns")
    ap.add_argument("--method-langs", default="de", help="source languages for --methods (with en)")
    ap.add_argument("--table", action="store_true", help="run nothing; tabulate what has finished")
    a = ap.parse_args()
    pairs = a.pairs.split(",")
    langs = ["en", *pairs]
    names = [n for n in a.configs.split(",") if n]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        sys.exit(f"error: unknown config(s) {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    a.work.mkdir(parents=True, exist_ok=True)
    if not a.table:
        if any(config(n)["corpus"] == "sets+debian" for n in names):
            try:
                debian_text.fetch(a.debtext, langs, a.debs)
            except debian_text.Unavailable as exc:
                sys.exit(f"error: {exc}")
        dicts = reference_dicts(a, langs)
        for name in names:
            t0 = time.time()
            for lang in langs:
                embed(a, name, lang)
            align(a, name, langs, dicts)
            say(f"{name} done in {time.time() - t0:.0f} s")
        for method in filter(None, a.methods.split(",")):
            embed_all = ["en", *a.method_langs.split(",")]
            for lang in embed_all:
                embed(a, a.best, lang)
            align(a, a.best, embed_all, dicts, method)
    md = ["| config | corpus and settings |", "|---|---|"]
    md += [f"| {n} | {describe(config(n))} |" for n in CONFIGS]
    md += ["", *rows(a, list(CONFIGS), pairs), "", *embed_table(a, list(CONFIGS), langs)]
    text = "\n".join(md) + "\n"
    (a.work / "results.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
