"""Real text from Debian packages, per language, for word vectors (issue 17, item 2).

    python bench/debian_text.py --langs de,en,es,fr,nl --work bench/work/debtext
    python bench/debian_text.py --langs de,en --work bench/work/debtext --debs /some/dir/with/debs --count

Three kinds of package hold prose translated into many languages (all "real text in Debian
packages", which ../shared/data/README.md allows):

- ``libreoffice-help-<lang>``: the LibreOffice help, 2,561 HTML pages per language, the same
  pages in every language (translations of one another);
- ``manpages-<lang>`` (English: ``manpages``): man pages, roff, gzipped;
- ``debian-reference-<lang>``: the Debian Reference, a book in HTML.

``fetch`` runs ``apt-get download PKG`` into ``WORK/debs`` (a .deb already there, or in
``--debs``, is used as it is) and ``dpkg-deb -x`` into ``WORK/root`` (once per package: a
stamp file says it is done). :func:`debian_sources` lists the files of one language;
``mltl embed`` reads them as they are (HTML by suffix, man pages as roff under ``man/``, .gz
read directly); :func:`prepare_sources` tokenizes each source once with ``mltl prepare
--task unlabeled`` (``unlabeled.jsonl``, which ``mltl embed`` then reads as tokenized), so a
study can train many vector configurations without tokenizing the text again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MLTL = [sys.executable, "-m", "mltl"]

# language -> {source: Debian package}
PACKAGES: dict[str, dict[str, str]] = {
    "en": {"libreoffice": "libreoffice-help-en-us", "man": "manpages", "debian-reference": "debian-reference-en"},
    "de": {"libreoffice": "libreoffice-help-de", "man": "manpages-de", "debian-reference": "debian-reference-de"},
    "es": {"libreoffice": "libreoffice-help-es", "man": "manpages-es", "debian-reference": "debian-reference-es"},
    "fr": {"libreoffice": "libreoffice-help-fr", "man": "manpages-fr", "debian-reference": "debian-reference-fr"},
    "nl": {"libreoffice": "libreoffice-help-nl", "man": "manpages-nl"},
    "it": {"libreoffice": "libreoffice-help-it", "man": "manpages-it", "debian-reference": "debian-reference-it"},
    "ja": {"libreoffice": "libreoffice-help-ja", "man": "manpages-ja", "debian-reference": "debian-reference-ja"},
    "zh": {"libreoffice": "libreoffice-help-zh-cn", "man": "manpages-zh", "debian-reference": "debian-reference-zh-cn"},
    "ru": {"libreoffice": "libreoffice-help-ru", "man": "manpages-ru"},
    "hi": {"libreoffice": "libreoffice-help-hi"},
}
# where each package puts its text, relative to WORK/root
LO_DIR = {"en": "en-US", "zh": "zh-CN"}  # LibreOffice help language directory
MAN_DIR = {"zh": "zh_CN"}  # man page directory (English: man/man*/)
DEBREF_SUFFIX = {"zh": "zh-cn"}  # debian-reference: *.<suffix>.html
FORMATS = {"libreoffice": "html", "man": "roff", "debian-reference": "html"}


class Unavailable(RuntimeError):
    pass


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _deb(debs: Path, pkg: str) -> Path | None:
    found = sorted(debs.glob(f"{pkg}_*.deb"))
    return found[-1] if found else None


def fetch(work: Path, langs: list[str], debs_from: Path | None = None) -> None:
    """Download (unless present) and unpack every package of ``langs`` into ``work/root``."""
    debs, root = work / "debs", work / "root"
    debs.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    unknown = [l for l in langs if l not in PACKAGES]
    if unknown:
        raise Unavailable(f"no Debian text known for {', '.join(unknown)} (known: {', '.join(PACKAGES)})")
    pkgs = [p for l in langs for p in PACKAGES[l].values()]
    missing = []
    for pkg in pkgs:
        if (root / f".unpacked-{pkg}").exists() or _deb(debs, pkg):
            continue
        if debs_from is not None and (src := _deb(debs_from, pkg)):
            shutil.copy2(src, debs / src.name)
            continue
        missing.append(pkg)
    if missing:
        if shutil.which("apt-get") is None:
            raise Unavailable(
                f"apt-get not found: on Debian/Ubuntu run `apt-get download {' '.join(missing)}` in {debs} "
                "(or give --debs DIR holding those .deb files)"
            )
        say(f"apt-get download {' '.join(missing)}")
        r = subprocess.run(["apt-get", "download", *missing], cwd=debs, capture_output=True, text=True)
        failed = [p for p in missing if not _deb(debs, p)]
        if failed:
            raise Unavailable(
                f"apt-get download failed for {', '.join(failed)} (run `apt-get update` first? is a Debian "
                f"mirror reachable?): {r.stderr.strip()[-800:]}"
            )
    if shutil.which("dpkg-deb") is None:
        raise Unavailable("dpkg-deb not found: install dpkg (Debian/Ubuntu) to unpack the .deb files")
    for pkg in pkgs:
        stamp = root / f".unpacked-{pkg}"
        if stamp.exists():
            continue
        deb = _deb(debs, pkg)
        assert deb is not None
        say(f"dpkg-deb -x {deb.name}")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        stamp.write_text(deb.name + "\n", encoding="utf-8")


def _files(pattern_root: Path, pattern: str) -> list[Path]:
    # links (man page aliases, some dangling into the real /usr) are left out: the text is read once
    return sorted(p for p in pattern_root.glob(pattern) if p.is_file() and not p.is_symlink())


def sources_by_kind(work: Path, lang: str) -> dict[str, list[Path]]:
    """{source: files} of one language (only sources whose package is unpacked)."""
    share = work / "root" / "usr" / "share"
    out: dict[str, list[Path]] = {}
    for source, pkg in PACKAGES.get(lang, {}).items():
        if not (work / "root" / f".unpacked-{pkg}").exists():
            continue
        if source == "libreoffice":
            files = _files(share / "libreoffice" / "help" / LO_DIR.get(lang, lang) / "text", "**/*.html")
        elif source == "man":
            base = share / "man" if lang == "en" else share / "man" / MAN_DIR.get(lang, lang)
            files = _files(base, "man*/*.gz")
        else:
            files = _files(share / "debian-reference", f"*.{DEBREF_SUFFIX.get(lang, lang)}.html")
        if files:
            out[source] = files
    return out


def debian_sources(work: Path, lang: str) -> list[Path]:
    """Every Debian text file of ``lang`` (HTML pages and gzipped roff man pages), for ``mltl embed``.

    ``mltl embed --lang LANG FILES…`` reads them as they are: ``--format auto`` takes .html as
    HTML and the .gz files under ``man/`` as roff. Empty when nothing was fetched for ``lang``
    (run :func:`fetch` first)."""
    return [f for files in sources_by_kind(work, lang).values() for f in files]


def prepare_sources(work: Path, lang: str, force: bool = False) -> dict[str, Path]:
    """{source: unlabeled.jsonl}: each source of ``lang`` tokenized once by ``mltl prepare``.

    The tokens are those ``mltl embed`` would make from the raw files (same tokenizer, spaCy's
    rule-based one), so embedding the JSONL equals embedding the files, without tokenizing
    again for every vector configuration. ``WORK/prepared/LANG-SOURCE/meta.json`` has the counts.
    """
    out = {}
    for source, files in sources_by_kind(work, lang).items():
        ds = work / "prepared" / f"{lang}-{source}"
        if force or not (ds / "meta.json").exists():
            say(f"mltl prepare --task unlabeled --lang {lang} --format {FORMATS[source]} ({len(files)} {source} files)")
            cmd = MLTL + ["-q", "prepare", "--task", "unlabeled", "--lang", lang, "--format", FORMATS[source]]
            r = subprocess.run([*cmd, *map(str, files), "--force", "-o", str(ds)], capture_output=True, text=True)
            if r.returncode:
                raise RuntimeError(f"mltl prepare failed for {lang}/{source}: {r.stderr.strip()[-2000:]}")
        out[source] = ds / "unlabeled.jsonl"
    return out


def counts(work: Path, lang: str) -> dict[str, dict[str, int]]:
    """{source: {files, sentences, tokens}} from the prepared datasets' meta.json."""
    res = {}
    kinds = sources_by_kind(work, lang)
    for source, jl in prepare_sources(work, lang).items():
        meta = json.loads((jl.parent / "meta.json").read_text(encoding="utf-8"))
        sp = meta["splits"]["unlabeled"]
        res[source] = {"files": len(kinds[source]), "sentences": sp["items"], "tokens": sp["tokens"]}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--langs", default="de,en,es,fr,nl")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "debtext")
    ap.add_argument("--debs", type=Path, default=None, help="a directory of already downloaded .deb files")
    ap.add_argument("--count", action="store_true", help="tokenize each source (mltl prepare) and print counts")
    a = ap.parse_args()
    langs = a.langs.split(",")
    try:
        fetch(a.work, langs, a.debs)
    except Unavailable as exc:
        sys.exit(f"error: {exc}")
    for lang in langs:
        kinds = sources_by_kind(a.work, lang)
        print(f"{lang}: " + ", ".join(f"{s} {len(f):,} files" for s, f in kinds.items()))
    if a.count:
        print("| lang | source | files | sentences | tokens |\n|---|---|---|---|---|")
        for lang in langs:
            for source, c in counts(a.work, lang).items():
                print(f"| {lang} | {source} | {c['files']:,} | {c['sentences']:,} | {c['tokens']:,} |")


if __name__ == "__main__":
    main()
