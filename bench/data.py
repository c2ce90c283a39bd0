"""Build the real-data benchmark sets from installed Debian man pages and freedict.

    apt-get install manpages manpages-dev manpages-de manpages-es manpages-fr manpages-nl \
        manpages-pl manpages-ru manpages-ja manpages-zh \
        dict-freedict-eng-deu dict-freedict-eng-spa dict-freedict-eng-nld dict-freedict-eng-fra
    python bench/data.py --out bench/data

Writes, per language LANG (en, de, es, fr, nl, pl, ru, zh; ja only when its spaCy
tokenizer works, i.e. sudachipy is installed):

    raw/LANG.txt                  prose paragraphs, one per line (mltl embed / unlabeled text)
    cls/LANG/{train,dev,test}.tsv section classification: label<TAB>NAME + DESCRIPTION prose
    tag/LANG/{train,dev,test}.conll  span tagging, CoNLL-2002 BIO (LIT = \\fB/.B, ARG = \\fI/.I)
    vocab/LANG.vec                words seen >= 3 times in raw/LANG.txt (lowercased; dim 1,
                                  only to restrict the freedict pairs to words man pages use)
    dicts/LANG-en.{train,test}.txt   freedict BLI dictionaries (de, es, fr, nl)
    predict/de.txt                prose of one German test-split page (for `mltl predict`)
    DATA_CARD.md, data_card.json  source packages + versions, counts, label distributions

Splits are by **page name** (``ls`` for ``man1/ls.1.gz``): md5(name) decides train (70%),
dev (10%) or test (20%), the same for every language and both tasks, so a page (and
its translations) never sits in train and test at once. Rules are in bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mltl.text.roff import _BOILERPLATE, roff_lines  # noqa: E402

MAN = Path("/usr/share/man")
LANG_DIRS = {
    "en": "",
    "de": "de",
    "es": "es",
    "fr": "fr",
    "nl": "nl",
    "pl": "pl",
    "ru": "ru",
    "ja": "ja",
    "zh": "zh_CN",
}
PACKAGES = {
    "en": ["manpages", "manpages-dev"],
    "de": ["manpages-de"],
    "es": ["manpages-es"],
    "fr": ["manpages-fr"],
    "nl": ["manpages-nl"],
    "pl": ["manpages-pl"],
    "ru": ["manpages-ru"],
    "ja": ["manpages-ja"],
    "zh": ["manpages-zh"],
}
FREEDICT = {
    "de": ("freedict-eng-deu", True),
    "es": ("freedict-eng-spa", True),
    "nl": ("freedict-eng-nld", True),
    "fr": ("freedict-eng-fra", True),
}
SECTIONS = ("1", "2", "3", "5", "7", "8")

# Section headings (upper-cased words; CJK matched as substrings).
NAME_HEADS = {"NAME", "BEZEICHNUNG", "NOMBRE", "NOM", "NAAM", "NAZWA", "ИМЯ", "НАЗВАНИЕ", "NOME"}
DESC_HEADS = {"DESCRIPTION", "BESCHREIBUNG", "DESCRIPCIÓN", "BESCHRIJVING", "OPIS", "ОПИСАНИЕ"}
NAME_CJK = ("名前", "名称", "名字")
DESC_CJK = ("説明", "描述", "说明", "解説")
# Sections whose text is not running prose for span tagging.
NO_PROSE_HEADS = {
    "SYNOPSIS",
    "ÜBERSICHT",
    "SINOPSIS",
    "SAMENVATTING",
    "SKŁADNIA",
    "ОБЗОР",
    "СИНТАКСИС",
    "SEE",
    "SIEHE",
    "VÉASE",
    "VOIR",
    "ZIE",
    "ZOBACZ",
    "СМ.",
    "COPYRIGHT",
    "ÜBERSETZUNG",
    "TRADUCCIÓN",
    "TRADUCTION",
    "VERTALING",
    "TŁUMACZENIE",
    "ПЕРЕВОД",
    "AUTHOR",
    "AUTHORS",
    "AUTOR",
    "AUTOREN",
    "AUTEUR",
    "AUTEURS",
    "AUTORES",
    "АВТОР",
    "АВТОРЫ",
    "COLOPHON",
    "EXAMPLE",
    "EXAMPLES",
    "BEISPIEL",
    "BEISPIELE",
    "EJEMPLO",
    "EJEMPLOS",
    "EXEMPLE",
    "EXEMPLES",
    "VOORBEELD",
    "VOORBEELDEN",
    "PRZYKŁAD",
    "PRZYKŁADY",
    "ПРИМЕР",
    "ПРИМЕРЫ",
}
NO_PROSE_CJK = ("書式", "概要", "関連項目", "著者", "例", "总览", "参见", "另见", "跋", "中文版", "示例", "范例")

SPLIT_OF = {**{i: "train" for i in range(7)}, 7: "dev", 8: "test", 9: "test"}


def split_of(name: str) -> str:
    return SPLIT_OF[int(hashlib.md5(name.encode("utf-8")).hexdigest(), 16) % 10]


def page_name(path: Path) -> str:
    name = path.name
    if name.endswith(".gz"):
        name = name[:-3]
    return re.sub(r"\.[0-9][^.]*$", "", name)


def heading_kind(head: str) -> str:
    words = set(head.upper().replace('"', " ").split())
    if words & NAME_HEADS or any(c in head for c in NAME_CJK):
        return "name"
    if words & DESC_HEADS or any(c in head for c in DESC_CJK):
        return "desc"
    if words & NO_PROSE_HEADS or any(c in head for c in NO_PROSE_CJK):
        return "skip"
    return "other"


def read_page(path: Path) -> list[str] | None:
    try:
        data = gzip.open(path, "rb").read()
    except OSError:
        return None
    for enc in ("utf-8", "latin-1"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    lines = text.splitlines()
    if not any(ln.startswith(".SH") for ln in lines):  # .so redirects, mdoc (.Sh) pages
        return None
    return lines


def drop_tag_lines(lines: list[str]) -> list[str]:
    """Remove the tag line after ``.TP``/``.TQ`` (option names, not prose)."""
    out, drop = [], False
    for ln in lines:
        if drop and not ln.startswith(('.\\"', "'\\\"")):
            drop = False
            continue
        if re.match(r"^[.']\s*(TP|TQ)\b", ln):
            drop = True
        out.append(ln)
    return out


def sections_of(lines: list[str], keep_fonts: bool) -> list[tuple[str, list[str]]]:
    """``[(heading, [paragraph, ...]), ...]``; paragraphs whitespace-normalised."""
    secs: list[tuple[str, list[str]]] = [("", [])]
    buf: list[str] = []

    def flush():
        text = " ".join(" ".join(buf).split())
        buf.clear()
        if text:
            secs[-1][1].append(text)

    for kind, text in roff_lines(lines, keep_fonts=keep_fonts):
        if kind == "para":
            flush()
            if text:  # .SH heading
                secs.append((text, []))
        elif text.strip():
            buf.append(text)
    flush()
    return secs


# ------------------------------------------------------------------ spans

_FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
_FONT_KIND = {"B": "LIT", "3": "LIT", "CB": "LIT", "I": "ARG", "2": "ARG", "CI": "ARG"}


def parse_fonts(text: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Plain text and ``(start, end, LIT|ARG)`` spans from ``\\fB…\\fR`` switches."""
    out: list[str] = []
    pos = 0
    cur = prev = "R"
    spans: list[tuple[int, int, str]] = []
    start = 0
    n = 0

    def close(end):
        kind = _FONT_KIND.get(cur)
        if kind:
            spans.append((start, end, kind))

    for m in _FONT.finditer(text):
        seg = text[pos : m.start()]
        out.append(seg)
        n += len(seg)
        pos = m.end()
        f = m.group(1).strip("[]").lstrip("(") or "P"
        new = prev if f == "P" else ("R" if f == "1" else f)
        if new != cur:
            close(n)
            prev, cur, start = cur, new, n
    seg = text[pos:]
    out.append(seg)
    n += len(seg)
    close(n)
    plain = "".join(out)
    clean = []
    for s, e, k in spans:  # strip blanks and punctuation-only edges
        while s < e and plain[s].isspace():
            s += 1
        while e > s and plain[e - 1].isspace():
            e -= 1
        if e > s and any(ch.isalnum() for ch in plain[s:e]):
            clean.append((s, e, k))
    return plain, clean


_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-ÖØ-ÞĄĆĘŁŃŚŹŻА-ЯЁ\"“„«»(\[])|(?<=[。！？])")
_ABBR = re.compile(
    r"(?i)(\b(z|d|u|e|i|bzw|ggf|vgl|etc|usw|ca|bspw|resp|dh|zb|p\.ej|vs|cf|ex|bijv|np|tzn"
    r"|т\.е|т\.д)\.)$"
)
_FINAL = tuple(".!?:;。！？：")


def sentences(plain: str) -> list[tuple[int, int]]:
    out, s = [], 0
    for m in _SENT_END.finditer(plain):
        if _ABBR.search(plain[s : m.start()]):
            continue
        out.append((s, m.start()))
        s = m.end()
    out.append((s, len(plain)))
    return [(a, b) for a, b in out if plain[a:b].strip()]


def tag_sentence(tok, plain: str, spans, a: int, b: int, stats) -> list[tuple[str, str]] | None:
    """BIO tokens of ``plain[a:b]`` or None when the sentence fails a filter."""
    text = plain[a:b].strip()
    off = a + (len(plain[a:b]) - len(plain[a:b].lstrip()))
    sp = [(s - off, e - off, k) for s, e, k in spans if s < off + len(text) and e > off]
    if not sp:
        stats["no_span"] += 1
        return None
    if any(s < 0 or e > len(text) for s, e, _ in sp):
        stats["span_crosses_sentence"] += 1
        return None
    if not text.endswith(_FINAL) or text.lstrip("\"'«»„“(").startswith("-"):
        stats["not_prose_end_or_dash"] += 1
        return None
    toks = tok.tokenize_with_offsets(text)
    if not (6 <= len(toks) <= 50):
        stats["length"] += 1
        return None
    tags, inside = [], 0
    prev_span = None
    for t, s, e in toks:
        best, best_ov = None, 0
        for i, (ss, se, k) in enumerate(sp):
            ov = min(e, se) - max(s, ss)
            if ov > best_ov:
                best, best_ov = i, ov
        if best is not None and best_ov * 2 >= (e - s):
            if best_ov < e - s:
                stats["token_partly_in_span"] += 1
            k = sp[best][2]
            tags.append(("I-" if prev_span == best else "B-") + k)
            prev_span = best
            inside += 1
        else:
            tags.append("O")
            prev_span = None
    prose_words = sum(1 for (t, _, _), g in zip(toks, tags) if g == "O" and any(c.isalpha() for c in t))
    if inside == 0:
        stats["no_span_token"] += 1
        return None
    span_len = collections.Counter()
    cur = 0
    for g in tags + ["O"]:
        if g.startswith("I-"):
            cur += 1
        else:
            if cur:
                span_len[cur] += 1
            cur = 1 if g.startswith("B-") else 0
    if max(span_len, default=0) > 4:  # italics used for emphasis of a clause, not an argument
        stats["long_span"] += 1
        return None
    if inside * 2 > len(toks) or prose_words < 3:
        stats["span_heavy"] += 1
        return None
    if any(re.search(r"\s", t) for t, _, _ in toks):
        stats["space_in_token"] += 1
        return None
    stats["kept"] += 1
    return [(t, g) for (t, _, _), g in zip(toks, tags)]


# ------------------------------------------------------------------ main


def dpkg_version(pkg: str) -> str | None:
    try:
        p = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    except OSError:
        return None
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


def pages_of(lang: str) -> list[tuple[str, str, Path]]:
    """``(name, section, path)`` of every real (non-symlink) page in sections 1-8, by name hash."""
    root = MAN / LANG_DIRS[lang]
    out = []
    for sec in SECTIONS:
        d = root / f"man{sec}"
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.gz")):
            if p.is_symlink():
                continue
            out.append((page_name(p), sec, p))
    out.sort(key=lambda x: (hashlib.md5(x[0].encode()).hexdigest(), x[1]))
    return out


def english_detector(lang: str):
    """``is_english(text)`` for LANG's pages: True where a paragraph or sentence is English.

    Translation packages ship untranslated pages and paragraphs (measured on the tagging
    sentences before this filter: 2 % of de, 10 % of es, 16 % of nl, 12 % of zh), which
    would put English into a "target language" test set. py3langid (a numpy model in the
    package, no pickle) decides between LANG and en only, so short text stays reliable.
    """
    if lang == "en":
        return lambda text: False
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        sys.exit("[data] py3langid is needed to drop untranslated English text: pip install -e '.[bench]'")
    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    ident.set_languages([lang, "en"])
    return lambda text: ident.classify(text)[0] == "en"


def tokenizer_ok(lang: str):
    from mltl.text.tokenize import get_tokenizer

    try:
        tok = get_tokenizer(lang)
        tok.tokenize_with_offsets("test")
        return tok
    except Exception as e:  # noqa: BLE001 - report and skip the language
        print(f"[data] skipping {lang}: tokenizer unavailable ({str(e).splitlines()[0]})", file=sys.stderr)
        return None


def build_lang(lang: str, out: Path, args, card: dict) -> None:
    tok = tokenizer_ok(lang)
    if tok is None and lang in ("en", "de", "es", "fr", "nl"):
        sys.exit(f"[data] the spaCy tokenizer for {lang!r} does not work here; is spaCy installed?")
    if tok is None:
        card["skipped"][lang] = "no spaCy tokenizer (install sudachipy for ja)"
        return
    is_english = english_detector(lang)
    pages = pages_of(lang)
    if len(pages) < args.min_pages:
        card["skipped"][lang] = f"only {len(pages)} pages"
        return
    t0 = time.perf_counter()
    raw_path = out / "raw" / f"{lang}.txt"
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    cls: dict[str, list[tuple[str, str]]] = {"train": [], "dev": [], "test": []}
    tag: dict[str, list] = {"train": [], "dev": [], "test": []}
    per_label = collections.Counter()
    seen_sents: set[str] = set()
    stats = collections.Counter()
    english = collections.Counter()  # untranslated text dropped, per use
    raw_bytes = 0
    n_pages = 0
    cls_missing = 0
    n_tag = 0
    predict_page = None
    with open(raw_path, "w", encoding="utf-8") as raw:
        for name, sec, path in pages:
            lines = read_page(path)
            if lines is None:
                stats["pages_skipped_no_SH"] += 1
                continue
            n_pages += 1
            split = split_of(name)
            lines = drop_tag_lines(lines)
            secs = sections_of(lines, keep_fonts=True)
            # raw prose (all sections but the non-prose ones), fonts removed
            if raw_bytes < args.max_raw_mb * 1e6:
                for head, paras in secs:
                    if heading_kind(head) == "skip":
                        continue
                    for p in paras:
                        plain = parse_fonts(p)[0]
                        if len(plain.split()) < 3 or _BOILERPLATE.search(plain):
                            continue
                        if is_english(plain):
                            english["raw paragraphs"] += 1
                            continue
                        raw.write(plain + "\n")
                        raw_bytes += len(plain.encode()) + 1
            # classification: NAME + DESCRIPTION
            name_txt = [parse_fonts(p)[0] for h, ps in secs if heading_kind(h) == "name" for p in ps]
            desc_txt = [parse_fonts(p)[0] for h, ps in secs if heading_kind(h) == "desc" for p in ps]
            if name_txt and desc_txt:
                if per_label[sec] < args.max_cls_per_label:
                    doc = " ".join(name_txt + desc_txt)
                    doc = re.sub(r"\(\s*[1-8][a-zA-Z]*\s*\)", "", doc)  # page(N) references
                    doc = " ".join(doc.split()[: args.max_doc_words])[: args.max_doc_chars]
                    doc = doc.replace("\t", " ")
                    if is_english(doc):
                        english["cls docs"] += 1
                    elif len(doc) >= 10:
                        cls[split].append((sec, doc))
                        per_label[sec] += 1
            else:
                cls_missing += 1
            # span tagging: running prose with font spans
            if n_tag < args.max_tag_sents:
                page_tagged = 0
                for head, paras in secs:
                    if heading_kind(head) in ("skip", "name"):
                        continue
                    for p in paras:
                        if _BOILERPLATE.search(p):
                            continue
                        plain, spans = parse_fonts(p)
                        for a, b in sentences(plain):
                            sent = plain[a:b].strip()
                            if sent in seen_sents:
                                stats["duplicate"] += 1
                                continue
                            seen_sents.add(sent)
                            if is_english(sent):
                                stats["english"] += 1
                                english["tag sentences"] += 1
                                continue
                            r = tag_sentence(tok, plain, spans, a, b, stats)
                            if r is not None:
                                tag[split].append(r)
                                n_tag += 1
                                page_tagged += 1
            if lang == "de" and split == "test" and predict_page is None and sec == "1":
                prose = [parse_fonts(p)[0] for h, ps in secs if heading_kind(h) in ("desc", "other") for p in ps]
                prose = [p for p in prose if len(p.split()) >= 6]
                if len(prose) >= 5:
                    predict_page = (path, prose[:40])
    for split, rows in cls.items():
        d = out / "cls" / lang
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"{split}.tsv", "w", encoding="utf-8") as f:
            for label, doc in rows:
                f.write(f"{label}\t{doc}\n")
    for split, sents in tag.items():
        d = out / "tag" / lang
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"{split}.conll", "w", encoding="utf-8") as f:
            for s in sents:
                for t, g in s:
                    f.write(f"{t}\t{g}\n")
                f.write("\n")
    if predict_page:
        (out / "predict").mkdir(exist_ok=True)
        (out / "predict" / "de.txt").write_text("\n".join(predict_page[1]) + "\n", encoding="utf-8")
        card["predict_page"] = str(predict_page[0])
    # vocabulary (lowercased, count >= 3) for restricting the dictionaries
    counts = collections.Counter()
    with open(raw_path, encoding="utf-8") as f:
        for toks in tok.pipe(ln.rstrip("\n") for ln in f):
            counts.update(t.lower() for t in toks)
    vocab = [w for w, c in counts.most_common() if c >= 3 and not any(ch.isspace() for ch in w)]
    (out / "vocab").mkdir(exist_ok=True)
    with open(out / "vocab" / f"{lang}.vec", "w", encoding="utf-8") as f:
        f.write(f"{len(vocab)} 1\n")
        for w in vocab:
            f.write(f"{w} 0\n")
    entry = {
        "packages": {p: dpkg_version(p) for p in PACKAGES[lang]},
        "man_dir": str(MAN / LANG_DIRS[lang]),
        "pages_read": n_pages,
        "raw": {
            "file": f"raw/{lang}.txt",
            "bytes": raw_bytes,
            "lines": sum(1 for _ in open(raw_path, encoding="utf-8")),
            "vocab_ge3": len(vocab),
        },
        "cls": {},
        "tag": {},
        "tag_filter_counts": dict(stats),
        "english_dropped": dict(english),
        "cls_pages_without_name_or_desc": cls_missing,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if lang == "en":
        entry["packages"]["note"] = "English pages: every installed package's pages under /usr/share/man"
    for split, rows in cls.items():
        entry["cls"][split] = {
            "file": f"cls/{lang}/{split}.tsv",
            "docs": len(rows),
            "labels": dict(sorted(collections.Counter(l for l, _ in rows).items())),
        }
    for split, sents in tag.items():
        spans = collections.Counter(g[2:] for s in sents for _, g in s if g.startswith("B-"))
        entry["tag"][split] = {
            "file": f"tag/{lang}/{split}.conll",
            "sentences": len(sents),
            "tokens": sum(len(s) for s in sents),
            "spans": dict(sorted(spans.items())),
        }
    card["languages"][lang] = entry
    print(
        f"[data] {lang}: {n_pages} pages, cls {[len(v) for v in cls.values()]}, "
        f"tag {[len(v) for v in tag.values()]}, raw {raw_bytes / 1e6:.1f} MB, "
        f"{entry['seconds']} s",
        file=sys.stderr,
        flush=True,
    )


def build_dicts(out: Path, langs: list[str], card: dict) -> None:
    d = out / "dicts"
    for lang in langs:
        if lang not in FREEDICT or lang not in card["languages"]:
            continue
        name, invert = FREEDICT[lang]
        index = Path("/usr/share/dictd") / f"{name}.index"
        if not index.exists():
            card["skipped"][f"dict {lang}"] = f"{index} missing (apt-get install dict-{name})"
            continue
        cmd = [
            sys.executable,
            "-m",
            "mltl.embeddings.freedict",
            str(index),
            "-o",
            str(d),
            "--lowercase",
            "--test",
            "1500",
            "--train",
            "5000",
            "--src-vectors",
            str(out / "vocab" / f"{lang}.vec"),
            "--tgt-vectors",
            str(out / "vocab" / "en.vec"),
        ] + (["--invert"] if invert else [])
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if p.returncode != 0:
            card["skipped"][f"dict {lang}"] = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "failed"
            continue
        files = {}
        for split in ("train", "test"):
            f = d / f"{lang}-en.{split}.txt"
            pairs = [ln.split() for ln in open(f, encoding="utf-8") if ln.strip()]
            files[split] = {"file": f"dicts/{f.name}", "pairs": len(pairs), "source_words": len({p[0] for p in pairs})}
        card["dicts"][f"{lang}-en"] = {
            "package": f"dict-{name}",
            "version": dpkg_version(f"dict-{name}"),
            "inverted": invert,
            **files,
        }


def write_card(out: Path, card: dict) -> None:
    (out / "data_card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    L = [
        "# Data card: mltl man-page benchmark data",
        "",
        f"Built {card['built']} by `{card['command']}` in {card['seconds']} s. "
        "Rules (splits, filters, tokenization): bench/README.md. Not committed; rebuild with the command.",
        "",
        "## Sources",
        "",
        "| lang | package | version | pages read |",
        "|---|---|---|---|",
    ]
    for lang, e in card["languages"].items():
        pk = ", ".join(p for p in e["packages"] if p != "note")
        vs = ", ".join(str(v) for p, v in e["packages"].items() if p != "note")
        L.append(f"| {lang} | {pk} | {vs} | {e['pages_read']} |")
    L += [
        "",
        "English pages come from every installed package (man pages under /usr/share/man/man*), "
        "not only `manpages`/`manpages-dev`.",
        "",
        "## Raw prose (`raw/LANG.txt`)",
        "",
        "| lang | lines | MB | vocab (count ≥ 3, lowercased) |",
        "|---|---|---|---|",
    ]
    for lang, e in card["languages"].items():
        L.append(f"| {lang} | {e['raw']['lines']:,} | {e['raw']['bytes'] / 1e6:.1f} | {e['raw']['vocab_ge3']:,} |")
    L += [
        "",
        "## Section classification (`cls/LANG/SPLIT.tsv`)",
        "",
        "| lang | split | docs | labels (section: docs) |",
        "|---|---|---|---|",
    ]
    for lang, e in card["languages"].items():
        for split, s in e["cls"].items():
            lab = ", ".join(f"{k}: {v}" for k, v in s["labels"].items())
            L.append(f"| {lang} | {split} | {s['docs']} | {lab} |")
    L += [
        "",
        "## Span tagging (`tag/LANG/SPLIT.conll`)",
        "",
        "| lang | split | sentences | tokens | spans |",
        "|---|---|---|---|---|",
    ]
    for lang, e in card["languages"].items():
        for split, s in e["tag"].items():
            sp = ", ".join(f"{k}: {v}" for k, v in s["spans"].items())
            L.append(f"| {lang} | {split} | {s['sentences']:,} | {s['tokens']:,} | {sp} |")
    L += ["", "Sentence filter counts (sentences dropped per rule, and kept):", ""]
    for lang, e in card["languages"].items():
        L.append(f"- {lang}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(e["tag_filter_counts"].items())))
    L += ["", "Untranslated English dropped (py3langid, LANG vs en) from each use:", ""]
    for lang, e in card["languages"].items():
        if e.get("english_dropped"):
            L.append(f"- {lang}: " + ", ".join(f"{k} {v:,}" for k, v in e["english_dropped"].items()))
    L += [
        "",
        "## BLI dictionaries (`dicts/LANG-en.SPLIT.txt`)",
        "",
        "| pair | package | version | split | pairs | source words |",
        "|---|---|---|---|---|---|",
    ]
    for pair, e in card["dicts"].items():
        for split in ("train", "test"):
            L.append(
                f"| {pair} | {e['package']} | {e['version']} | {split} | {e[split]['pairs']:,} | "
                f"{e[split]['source_words']:,} |"
            )
    L += [
        "",
        "Pairs restricted to words seen ≥ 3 times in the man-page prose of both languages; "
        "test and train source words are disjoint.",
        "",
    ]
    if card.get("predict_page"):
        L += [f"`predict/de.txt`: prose paragraphs of `{card['predict_page']}` (a test-split page).", ""]
    if card["skipped"]:
        L += ["## Skipped", ""] + [f"- {k}: {v}" for k, v in card["skipped"].items()] + [""]
    (out / "DATA_CARD.md").write_text("\n".join(L), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench/data", type=Path)
    ap.add_argument("--langs", default="en,de,es,fr,nl,pl,ru,zh,ja")
    ap.add_argument("--min-pages", type=int, default=150, help="skip languages with fewer pages")
    ap.add_argument("--max-raw-mb", type=float, default=8.0, help="raw prose per language (English is huge)")
    ap.add_argument("--max-cls-per-label", type=int, default=600, help="classification docs per section label")
    ap.add_argument("--max-doc-words", type=int, default=150)
    ap.add_argument("--max-doc-chars", type=int, default=1200)
    ap.add_argument("--max-tag-sents", type=int, default=12000, help="tagging sentences per language")
    args = ap.parse_args()
    t0 = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    card = {
        "built": time.strftime("%Y-%m-%d %H:%M"),
        "command": "python " + " ".join(sys.argv),
        "split_rule": "md5(page name) % 10: 0-6 train, 7 dev, 8-9 test",
        "languages": {},
        "dicts": {},
        "skipped": {},
    }
    langs = args.langs.split(",")
    if "en" not in langs:
        langs = ["en"] + langs
    for lang in langs:
        if not (MAN / LANG_DIRS[lang]).is_dir():
            card["skipped"][lang] = f"no {MAN / LANG_DIRS[lang]} (apt-get install {PACKAGES[lang][0]})"
            continue
        build_lang(lang, out, args, card)
    build_dicts(out, langs, card)
    card["seconds"] = round(time.perf_counter() - t0, 1)
    write_card(out, card)
    print(f"[data] wrote {out}/DATA_CARD.md in {card['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
