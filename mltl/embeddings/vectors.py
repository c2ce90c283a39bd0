"""Word vectors in memory and on disk: ``.vec`` text, fastText ``.bin``, compact binary.

One type, :class:`Vectors`, carries a vocabulary (most frequent first, as every
format we read stores it) and a float32 matrix with one row per word. Readers
reject what would silently corrupt training later (ragged rows, NaN/inf,
duplicate words, a header that disagrees with its rows) with an
:class:`~mltl.errors.InputError` naming the file and line.

Formats, chosen by the path:

* ``*.vec`` / ``*.txt`` (optionally ``.gz``): fastText/MUSE text, one word and
  its ``dim`` numbers per line, an optional ``"<count> <dim>"`` header.
* ``*.bin``: a fastText model (needs the ``fasttext`` package). Out-of-vocabulary
  words get vectors from their character n-grams through :meth:`Vectors.oov_vector`.
* ``*.npy`` + ``*.vocab.txt`` beside it, or a directory holding ``vectors.npy`` +
  ``vocab.txt``: the compact form, float32 or float16, memory-mapped on load so
  200k x 300 opens in milliseconds.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Iterable, Iterator, Sequence

import numpy as np

from mltl.errors import InputError
from mltl.files import STDIO, atomic_dir, atomic_file, check_nonempty, iter_lines

FORMATS = ("vec", "bin", "npy", "dir")
NORMALIZATIONS = ("none", "unit", "center", "unit,center,unit")

# Names of the files inside a compact vectors directory.
DIR_MATRIX = "vectors.npy"
DIR_VOCAB = "vocab.txt"
DIR_META = "meta.json"


@dataclass
class Vectors:
    """A vocabulary and its vectors: ``matrix[i]`` is the vector of ``words[i]``.

    ``words`` is ordered most frequent first (fastText and MUSE files are), which
    is what ``max_vocab`` and the frequency cut-offs of alignment rely on.
    """

    words: list[str]
    matrix: np.ndarray
    path: str | None = None
    # The fastText model when loaded from .bin: gives OOV vectors from subwords.
    model: Any = field(default=None, repr=False, compare=False)
    _index: dict[str, int] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.matrix.ndim != 2:
            raise ValueError(f"matrix must be 2-D, got shape {self.matrix.shape}")
        if len(self.words) != self.matrix.shape[0]:
            raise ValueError(f"{len(self.words)} words but {self.matrix.shape[0]} rows")

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        """word -> row, built on first use (a 200k dict costs ~50 ms; skip it if unused)."""
        if self._index is None:
            self._index = {w: i for i, w in enumerate(self.words)}
        return self._index

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def get(self, word: str) -> np.ndarray | None:
        """The stored vector of ``word``, or None when it is not in the vocabulary."""
        i = self.index.get(word)
        return None if i is None else np.asarray(self.matrix[i], dtype=np.float32)

    def oov_vector(self, word: str) -> np.ndarray | None:
        """Vector for any word: stored row if known, else fastText subwords (``.bin`` only).

        Returns None for an unknown word when no subword model is attached.
        """
        v = self.get(word)
        if v is not None:
            return v
        if self.model is not None:
            return np.asarray(self.model.get_word_vector(word), dtype=np.float32)
        return None

    def subset(self, n: int) -> "Vectors":
        """The ``n`` most frequent words (a view, no copy)."""
        return Vectors(self.words[:n], self.matrix[:n], path=self.path, model=self.model)

    def with_matrix(self, matrix: np.ndarray) -> "Vectors":
        """Same vocabulary, new vectors (e.g. after mapping); the index is shared."""
        return Vectors(self.words, matrix, path=self.path, model=None, _index=self._index)


# ---------------------------------------------------------------- normalisation


def unit_length(m: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return m / norms


def center(m: np.ndarray) -> np.ndarray:
    """Columns shifted to mean 0 (removes the common direction all vectors share)."""
    m = np.asarray(m, dtype=np.float32)
    return m - m.mean(axis=0, dtype=np.float64).astype(np.float32)


def normalize(m: np.ndarray, how: str = "unit,center,unit") -> np.ndarray:
    """Apply a comma-separated sequence of ``unit`` / ``center`` steps (or ``none``).

    ``unit,center,unit`` is the recipe of Artetxe et al. (2018): length
    normalisation makes cosine a dot product, centring removes the shared mean
    direction, the final unit step restores length 1 after centring.
    Always returns a new float32 array (inputs may be read-only memory maps).
    """
    steps = [s.strip() for s in (how or "none").split(",") if s.strip()]
    out = np.array(m, dtype=np.float32, copy=True)
    for step in steps:
        if step == "none":
            continue
        if step == "unit":
            out = unit_length(out)
        elif step == "center":
            out = center(out)
        else:
            raise InputError(
                f"unknown normalisation step {step!r}; use unit, center, their comma-separated combination, or none"
            )
    return out


# ---------------------------------------------------------------------- loading


def detect_format(path: str | Path) -> str:
    """``vec`` | ``bin`` | ``npy`` | ``dir`` from the path (and what exists there)."""
    p = Path(path)
    if p.is_dir():
        return "dir"
    name = p.name.lower()
    if name.endswith(".bin"):
        return "bin"
    if name.endswith(".npy"):
        return "npy"
    return "vec"


def resolve_path(path: str | Path) -> Path:
    """Let ``vectors/de`` (what ``mltl embed -o`` was given) name ``vectors/de.vec``/``.bin``."""
    p = Path(path)
    if p.exists():
        return p
    for suffix in (".vec", ".bin", ".npy"):
        cand = p.with_name(p.name + suffix)
        if cand.exists():
            return cand
    raise InputError("no such file", path=path)


def load_vectors(
    path: str | Path,
    max_vocab: int | None = None,
    *,
    mmap: bool = True,
    duplicates: str = "error",
    keep: Collection[str] | None = None,
    keep_top: int = 0,
    float32: bool = True,
) -> Vectors:
    """Read vectors from ``.vec``/``.txt``(``.gz``), fastText ``.bin``, ``.npy`` or a directory.

    ``max_vocab`` keeps the N most frequent words (the first N rows). ``duplicates``:
    ``error`` (default) rejects a word seen twice; ``first`` keeps its first row.
    Compact float32 files stay memory-mapped (read-only) when ``mmap``; float16
    ones are converted to float32 in memory, unless ``float32=False`` (then they
    stay memory-mapped float16 too; take rows with ``np.asarray(m[rows], np.float32)``).

    ``keep`` (a set of words): return only the rows of these words and of the first
    ``keep_top`` words, in file order, without ever holding the others: a text file's
    other rows are not parsed (only their value count is checked), a compact file's
    are not read, a ``.bin``'s are not computed. That is how a training run reads a
    2,000,000-word file for the few thousand words of its data.
    """
    if max_vocab is not None and max_vocab <= 0:
        raise InputError(f"--max-vocab must be positive, got {max_vocab}")
    if duplicates not in ("error", "first"):
        raise ValueError(f"duplicates must be 'error' or 'first', not {duplicates!r}")
    if keep is not None and not isinstance(keep, (set, frozenset, dict)):
        keep = set(keep)
    if str(path) == STDIO:
        return _load_text(STDIO, max_vocab, duplicates, keep, keep_top)
    p = resolve_path(path)
    fmt = detect_format(p)
    if fmt in ("dir", "npy"):
        npy, vocab = (p / DIR_MATRIX, p / DIR_VOCAB) if fmt == "dir" else (p, _npy_vocab_path(p))
        v = _load_compact(npy, vocab, max_vocab, mmap, shown=p, keep=keep, keep_top=keep_top)
        if float32 and v.matrix.dtype != np.float32:
            v.matrix = np.asarray(v.matrix, dtype=np.float32)  # float16 on disk: compute in float32
        return v
    check_nonempty(p)
    if fmt == "bin":
        return _load_bin(p, max_vocab, keep, keep_top)
    return _load_text(p, max_vocab, duplicates, keep, keep_top)


class CaseFolded(frozenset):
    """A ``keep`` set of lowercased words that also matches their other casings.

    ``load_vectors(keep=CaseFolded(words))`` keeps the rows of "Haus" and "HAUS" for the
    word "haus": a run that lowercases its words (the paper does) can then use cased
    vectors (fastText's cc.*.vec are cased), see :func:`first_casing`.
    """

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and frozenset.__contains__(self, word.lower())


def first_casing(words: Sequence[str]) -> dict[str, int]:
    """lowercased word -> row of its first casing in file order.

    Vector files list words by decreasing frequency, so that is the most frequent casing
    ("Haus" for "haus" in German; "the" rather than "The"): the vector a lowercased lookup
    of the word should get. An exact lowercase row wins only when it is the first.
    """
    out: dict[str, int] = {}
    for i, w in enumerate(words):
        out.setdefault(w.lower(), i)
    return out


def _kept_rows(words: list[str], keep: Collection[str] | None, keep_top: int) -> list[int] | None:
    """Row numbers ``load_vectors(keep=, keep_top=)`` returns (None: all)."""
    if keep is None:
        return None
    return [i for i, w in enumerate(words) if i < keep_top or w in keep]


def _npy_vocab_path(p: Path) -> Path:
    return p.with_name(p.name[: -len(".npy")] + ".vocab.txt")


def _parse_header(line: str) -> tuple[int, int] | None:
    """``(count, dim)`` if the line is a fastText header, else None (a vector row)."""
    parts = line.split()
    if len(parts) == 2 and all(x.isdigit() for x in parts):
        return int(parts[0]), int(parts[1])
    return None


class _TextRows:
    """Stream the rows of a ``.vec`` text file as blocks of ``(words, float32 matrix)``.

    Iterating parses and validates the file once, holding at most one block of
    number strings at a time. ``keep`` (a set of words) with ``keep_top``: only rows
    whose word is in ``keep`` or among the first ``keep_top`` distinct words are
    returned; the numbers of the others are never parsed (their value count is still
    checked). ``dim`` and ``header`` are known once the first block is out (or the
    iteration ended). ``duplicates="first"`` with ``keep`` and no ``max_vocab``
    remembers only the words it keeps (a duplicate of a skipped word is skipped anyway).
    """

    def __init__(
        self,
        path: str | Path,
        max_vocab: int | None = None,
        duplicates: str = "error",
        keep: Collection[str] | None = None,
        keep_top: int = 0,
        chunk: int = 8192,
    ) -> None:
        self.path, self.max_vocab, self.duplicates = path, max_vocab, duplicates
        self.keep, self.keep_top, self.chunk = keep, keep_top, chunk
        self.name = "<stdin>" if str(path) == STDIO else path
        self.header: tuple[int, int] | None = None
        self.dim: int | None = None
        self.dim_line = 0

    def _ragged(self, n_vals: int, lineno: int) -> InputError:
        what = "the header" if self.dim_line == 1 and self.header is not None else f"line {self.dim_line}"
        return InputError(
            f"row has {n_vals} values but {what} says dimension {self.dim} (ragged rows or a wrong header)",
            path=self.name,
            line=lineno,
        )

    def _parse(self, words: list[str], rests: list[str], linenos: list[int]) -> np.ndarray:
        """The float32 rows of a block of number strings, or the error naming the bad line."""
        dim, name = self.dim, self.name
        assert dim is not None  # set by the first row, before any row is pending
        try:
            # numpy's C reader (1.23+): a third faster than np.fromstring(sep=" ") on fastText rows
            block = np.loadtxt(rests, dtype=np.float32, delimiter=None, comments=None, ndmin=2)
        except ValueError:
            block = np.empty((0, 0), dtype=np.float32)
        if block.shape != (len(rests), dim):
            # Slow path, only on bad input: find the row and value that failed.
            for rest, lineno in zip(rests, linenos):
                vals = rest.split()
                if len(vals) != dim:
                    raise self._ragged(len(vals), lineno)
                bad = next((v for v in vals if not _is_float(v)), None)
                if bad is not None:
                    raise InputError(f"not a number: {bad[:40]!r}", path=name, line=lineno)
            raise InputError("could not parse the numbers of this block of rows", path=name, line=linenos[0])
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            j = int(np.argmin(finite))
            raise InputError(f"vector of {words[j]!r} contains NaN or inf", path=name, line=linenos[j])
        return block

    def __iter__(self) -> Iterator[tuple[list[str], np.ndarray]]:
        name, max_vocab, keep, keep_top = self.name, self.max_vocab, self.keep, self.keep_top
        # Remember every word (to reject or skip its duplicates, and count distinct words for
        # max_vocab) unless only kept words can matter.
        track_all = keep is None or self.duplicates == "error" or max_vocab is not None
        words: list[str] = []
        rests: list[str] = []  # number strings of kept rows not yet parsed
        linenos: list[int] = []
        first_line: dict[str, int] = {}
        n_rows = 0  # vector rows read (duplicates skipped by 'first' included)
        n_distinct = 0
        complete = True  # read to the end of the file (not stopped by max_vocab)
        lines = iter_lines(self.path)
        try:
            for lineno, line in lines:
                if lineno == 1:
                    self.header = header = _parse_header(line)
                    if header is not None:
                        if header[1] <= 0:
                            raise InputError(f"header says dimension {header[1]}", path=name, line=1)
                        self.dim, self.dim_line = header[1], 1
                        continue
                line = line.rstrip(" \t")
                if not line:
                    raise InputError("empty line in vectors file", path=name, line=lineno)
                word, _, rest = line.partition(" ")
                n_vals = rest.count(" ") + 1 if rest else 0
                if self.dim is None:
                    if n_vals == 0:
                        raise InputError(
                            "row has a word but no numbers (is this a vectors file?)", path=name, line=lineno
                        )
                    self.dim, self.dim_line = len(rest.split()), lineno
                elif n_vals != self.dim and len(rest.split()) != self.dim:  # split() tolerates doubled spaces
                    raise self._ragged(len(rest.split()), lineno)
                n_rows += 1
                if self.header is not None and n_rows > self.header[0]:
                    raise InputError(
                        f"header says {self.header[0]} vectors but the file has more (line 1 or the rows are wrong)",
                        path=name,
                        line=lineno,
                    )
                prev = first_line.get(word)
                if prev is not None:
                    if self.duplicates == "error":
                        raise InputError(f"duplicate word {word!r} (first on line {prev})", path=name, line=lineno)
                    continue
                wanted = keep is None or n_distinct < keep_top or word in keep
                if track_all or wanted:
                    first_line[word] = lineno
                n_distinct += 1
                if wanted:
                    words.append(word)
                    rests.append(rest)
                    linenos.append(lineno)
                    if len(rests) >= self.chunk:
                        yield words, self._parse(words, rests, linenos)
                        words, rests, linenos = [], [], []
                if max_vocab is not None and n_distinct >= max_vocab:
                    # Stopped early: the header's count can be checked only if this was the last row.
                    try:
                        complete = next(lines, None) is None
                    except InputError:  # a bad line after the ones we keep is not ours to judge
                        complete = False
                    break
        finally:
            lines.close()
        if rests:
            yield words, self._parse(words, rests, linenos)
        if n_rows == 0:
            if self.header is not None:
                raise InputError("header but no vectors", path=name, line=1)
            raise InputError("file is empty", path=name)
        # Whenever the file was read to its end: a header that promises more rows than there
        # are means a truncated download or a hand-edited file.
        if self.header is not None and complete and self.header[0] != n_rows:
            raise InputError(f"header says {self.header[0]} vectors but the file has {n_rows}", path=name, line=1)


def _load_text(
    path: str | Path,
    max_vocab: int | None,
    duplicates: str,
    keep: Collection[str] | None = None,
    keep_top: int = 0,
) -> Vectors:
    """Parse ``.vec`` text, validating each row; blocks of rows become float32 at once.

    Speed matters (a 200k x 300 file is 600 MB of digits): each line is only
    partitioned into word and number string, and a block of 8192 number strings
    is parsed by numpy in one C call (``np.loadtxt``); the per-value checks run only when a block
    fails to parse, to name the bad line. When the header gives the row count (and
    no ``keep`` filter makes it a gross overestimate), the matrix is allocated once
    and filled block by block: peak memory is one matrix, not blocks plus their copy.
    """
    rows = _TextRows(path, max_vocab, duplicates, keep, keep_top)
    words: list[str] = []
    blocks: list[np.ndarray] = []
    matrix: np.ndarray | None = None
    for block_words, block in rows:
        if matrix is None and not blocks and rows.header is not None and keep is None:
            n = rows.header[0] if max_vocab is None else min(rows.header[0], max_vocab)
            if n <= _max_rows(path, block.shape[1]):  # else a wrong header, reported at the end
                matrix = np.empty((n, block.shape[1]), dtype=np.float32)
        if matrix is not None:
            matrix[len(words) : len(words) + len(block)] = block
        else:
            blocks.append(block)
        words += block_words
    assert rows.dim is not None  # the reader raised on a file without rows
    if matrix is not None:
        # Fewer rows than the header said only when duplicates were skipped: copy if that saves much.
        matrix = matrix[: len(words)] if len(words) > 0.9 * len(matrix) else matrix[: len(words)].copy()
    elif not blocks:
        matrix = np.zeros((0, rows.dim), dtype=np.float32)
    else:
        matrix = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    return Vectors(words, matrix, path=str(rows.name))


def _max_rows(path: str | Path, dim: int) -> int:
    """Most rows a text file of this size can hold (a row is at least ``dim`` one-digit numbers
    and their spaces), so that a header claiming billions of rows allocates nothing. A gzip
    file is allowed 50 times its size; stdin, none (its size is unknown)."""
    if str(path) == STDIO:
        return 0
    size = Path(path).stat().st_size
    return size * (50 if str(path).endswith(".gz") else 1) // (2 * dim)


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _load_bin(p: Path, max_vocab: int | None, keep: Collection[str] | None = None, keep_top: int = 0) -> Vectors:
    try:
        import fasttext  # noqa: F401  (heavy; only for .bin)
    except ImportError:
        raise InputError(
            "reading .bin vectors needs the 'fasttext-numpy2' package (pip install fasttext-numpy2)", path=p
        ) from None
    model = _fasttext_load(p)
    vecs = vectors_from_fasttext(model, max_vocab, keep, keep_top)
    if not vecs.words and keep is None:
        raise InputError("fastText model has an empty vocabulary", path=p)
    if not np.isfinite(vecs.matrix).all():
        raise InputError("model contains NaN or inf vectors", path=p)
    vecs.path = str(p)
    return vecs


def vectors_from_fasttext(
    model: Any, max_vocab: int | None = None, keep: Collection[str] | None = None, keep_top: int = 0
) -> Vectors:
    """The vocabulary of a fastText model (most frequent first) with its word vectors.

    The model stays attached so :meth:`Vectors.oov_vector` can build vectors of
    unseen words from their character n-grams. ``keep``/``keep_top``: as in
    :func:`load_vectors` (only those words' vectors are computed).
    """
    words = list(model.get_words())
    if max_vocab is not None:
        words = words[:max_vocab]
    rows = _kept_rows(words, keep, keep_top)
    if rows is not None:
        words = [words[i] for i in rows]
    matrix = np.empty((len(words), model.get_dimension()), dtype=np.float32)
    for i, w in enumerate(words):
        matrix[i] = model.get_word_vector(w)
    return Vectors(words, matrix, model=model)


# fastText's binary model (fastText.cc, args.cc, dictionary.cc, densematrix.cc): magic and
# version (int32), the Args block (12 int32 + one double), the dictionary header (size,
# nwords, nlabels: int32; ntokens, pruneidx_size: int64), the entries (word, NUL, int64
# count, int8 type), pruneidx pairs, then the input matrix (bool quantized; int64 rows,
# int64 cols; rows x cols float32) and the output matrix in the same form.
FASTTEXT_MAGIC = 793712314
FASTTEXT_VERSIONS = (11, 12)
_FT_ARGS = struct.Struct("<12id")
_FT_DICT = struct.Struct("<iiiqq")
_FT_ENTRY_MIN = 1 + 1 + 8 + 1  # one-byte word, NUL, count, type
_FT_MAX_WORD = 1 << 20  # bytes without a NUL: not a dictionary


def check_fasttext_bin(p: str | Path) -> None:
    """Raise :class:`InputError` unless ``p`` looks like a whole fastText model.

    fastText's own loader trusts the header: on a truncated file it reads past the end
    and grows a string until memory runs out (minutes, then ``std::bad_alloc``). This
    reads the header and walks the dictionary (no vectors), then checks the file holds
    the matrices the header declares: milliseconds, or about a second for millions of words.
    """
    p = Path(p)
    size = p.stat().st_size

    def bad(detail: str) -> InputError:
        return InputError(f"truncated or not a fastText model: {detail}", path=p)

    with open(p, "rb") as f:
        head = f.read(8 + _FT_ARGS.size + _FT_DICT.size)
        if len(head) < 8:
            raise bad(f"only {size} bytes")
        magic, version = struct.unpack_from("<ii", head)
        if magic != FASTTEXT_MAGIC:
            raise bad("no fastText header (wrong magic number)")
        if version not in FASTTEXT_VERSIONS:
            raise bad(f"format version {version}, this fastText reads versions 11 and 12")
        if len(head) < 8 + _FT_ARGS.size + _FT_DICT.size:
            raise bad(f"the file ends inside its header ({size} bytes)")
        args = _FT_ARGS.unpack_from(head, 8)
        dim, bucket = args[0], args[8]
        n, nwords, nlabels, _ntokens, prune = _FT_DICT.unpack_from(head, 8 + _FT_ARGS.size)
        if dim <= 0 or bucket < 0 or nwords < 0 or nlabels < 0 or n != nwords + nlabels or prune < -1:
            raise bad(f"implausible header (dim {dim}, bucket {bucket}, {nwords} words, {nlabels} labels)")
        start = len(head)
        if start + n * _FT_ENTRY_MIN > size:
            raise bad(f"the header declares {n:,} dictionary entries but the file has only {size:,} bytes")
        end = _walk_fasttext_dict(f, start, n)
        if end is None:
            raise bad(f"the file ends inside its dictionary of {n:,} entries ({size:,} bytes)")
        pos = end + max(prune, 0) * 8
        for which in ("input", "output"):
            f.seek(pos)
            block = f.read(1 + 16)
            if len(block) < 1 + 16:
                raise bad(f"the file ends before its {which} matrix ({size:,} bytes)")
            if block[0]:  # quantized (.ftz-style): codes, not float rows; no size to derive here
                return
            rows, cols = struct.unpack_from("<qq", block, 1)
            expect_rows = nwords + bucket if which == "input" and prune < 0 else rows
            if cols != dim or rows < 0 or rows != expect_rows:
                raise bad(f"the {which} matrix is {rows} x {cols}, the header implies {expect_rows} x {dim}")
            pos += 1 + 16 + rows * cols * 4
            if pos > size:
                raise bad(
                    f"the header declares a {rows:,} x {cols} {which} matrix ({rows * cols * 4:,} "
                    f"bytes) but the file has only {size:,} bytes"
                )


def _walk_fasttext_dict(f, start: int, n: int) -> int | None:
    """File offset after ``n`` dictionary entries from ``start``, or None if the file ends first."""
    chunk = 1 << 20
    f.seek(start)
    buf, base, k = f.read(chunk), start, 0
    for _ in range(n):
        while True:
            j = buf.find(b"\0", k)
            if 0 <= j and j + 10 <= len(buf):
                break
            more = f.read(chunk)
            if not more or len(buf) - k > _FT_MAX_WORD:
                return None
            buf, base, k = buf[k:] + more, base + k, 0
        k = j + 10  # NUL, int64 count, int8 type
    return base + k


def _fasttext_load(p: Path):
    import fasttext

    check_fasttext_bin(p)
    try:
        return fasttext.load_model(str(p))
    except (ValueError, RuntimeError, MemoryError) as exc:
        raise InputError(f"not a fastText .bin model ({exc})", path=p) from None


def _load_compact(
    npy: Path,
    vocab: Path,
    max_vocab: int | None,
    mmap: bool,
    shown: Path,
    keep: Collection[str] | None = None,
    keep_top: int = 0,
) -> Vectors:
    """The matrix (memory-mapped when ``mmap``, in its stored dtype) and its vocabulary."""
    if not npy.exists():
        raise InputError(f"missing {npy.name} (compact vectors need the matrix and its vocabulary)", path=shown)
    if not vocab.exists():
        raise InputError(f"missing {vocab.name} beside the matrix", path=shown)
    try:
        # Memory-mapped even without ``mmap`` when only some rows are wanted: they are copied out.
        mapped = mmap or keep is not None or max_vocab is not None
        matrix = np.load(npy, mmap_mode="r" if mapped else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"not a .npy matrix ({exc})", path=npy) from None
    if matrix.ndim != 2 or matrix.dtype not in (np.float32, np.float16):
        raise InputError(f"expected a 2-D float32/float16 matrix, got {matrix.dtype} {matrix.shape}", path=npy)
    words = vocab.read_text(encoding="utf-8").split("\n")
    if words and words[-1] == "":
        words.pop()
    if len(words) != matrix.shape[0]:
        raise InputError(
            f"{len(words)} words but the matrix has {matrix.shape[0]} rows (files from different runs?)", path=vocab
        )
    if len(set(words)) != len(words):
        seen: dict[str, int] = {}
        for i, w in enumerate(words, start=1):
            if w in seen:
                raise InputError(f"duplicate word {w!r} (first on line {seen[w]})", path=vocab, line=i)
            seen[w] = i
    if max_vocab is not None:
        words, matrix = words[:max_vocab], matrix[:max_vocab]
    rows = _kept_rows(words, keep, keep_top)
    if rows is not None:
        words, matrix = [words[i] for i in rows], matrix[np.asarray(rows, dtype=np.int64)]
    elif not mmap and isinstance(matrix, np.memmap):
        matrix = np.array(matrix)
    return Vectors(words, matrix, path=str(shown))


# ---------------------------------------------------------------------- saving


def format_for_path(path: str | Path) -> str:
    """The format ``save_vectors`` picks when none is given."""
    name = str(path).lower()
    if name.endswith(".npy"):
        return "npy"
    if name.endswith(".bin"):
        return "bin"
    if name.endswith((".vec", ".txt", ".vec.gz", ".txt.gz")) or str(path) == STDIO:
        return "vec"
    return "dir"


def save_vectors(
    vectors: Vectors, path: str | Path, format: str | None = None, dtype: str = "float32", precision: int = 5
) -> Path:
    """Write vectors atomically; returns the path written.

    ``format``: ``vec`` (text with header, ``precision`` decimals), ``npy``
    (``name.npy`` + ``name.vocab.txt``), ``dir`` (a directory with ``vectors.npy``,
    ``vocab.txt`` and ``meta.json``), or None to choose from the suffix. ``.bin``
    cannot be written from vectors (it holds a whole fastText model): use ``mltl embed``.
    """
    fmt = format or format_for_path(path)
    if fmt not in ("vec", "npy", "dir"):
        raise InputError(f"cannot write vectors as {fmt!r}; choose vec, npy or dir", path=path)
    if dtype not in ("float32", "float16"):
        raise InputError(f"dtype must be float32 or float16, not {dtype!r}")
    if fmt == "vec":
        bad = next((w for w in vectors.words if not w or any(c in w for c in " \n\r")), None)
        if bad is not None:
            # A space or newline inside a word would make the file unreadable later.
            raise InputError(f"word {bad!r} contains whitespace and cannot be stored", path=path)
        with atomic_file(path, "w") as f:
            _write_text(vectors, f, precision)
        return Path(path)
    # The matrix goes out in row blocks: a memory-mapped float32 matrix saved as float16
    # is never converted whole.
    step = max(1, (64 << 20) // (4 * max(vectors.dim, 1)))
    blocks = ((vectors.words[i : i + step], vectors.matrix[i : i + step]) for i in range(0, len(vectors), step))
    return _write_compact(blocks, path, fmt, dtype, vectors.dim, len(vectors))


def _npy_header(n: int, dim: int, dtype: str, size: int = 0) -> bytes:
    """A version 1.0 ``.npy`` header for an ``n x dim`` C-order matrix, space-padded to ``size``
    bytes (or the least multiple of 64): the format allows any padding, so a header written
    before the row count is known can be rewritten in place once it is."""
    d = "{'descr': %r, 'fortran_order': False, 'shape': (%d, %d), }" % (np.dtype(dtype).str, n, dim)
    need = 10 + len(d) + 1
    size = size or (need + 63) // 64 * 64
    if need > size or size % 64 or size - 10 > 0xFFFF:
        raise ValueError(f"a {need}-byte .npy header does not fit in {size} bytes")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", size - 10) + (d + " " * (size - need) + "\n").encode("latin1")


def _write_compact(
    blocks: Iterable[tuple[list[str], np.ndarray]],
    path: str | Path,
    fmt: str,
    dtype: str,
    dim: int | None,
    max_rows: int | None = None,
) -> Path:
    """Write ``npy`` (NAME.npy + NAME.vocab.txt) or ``dir`` from blocks of rows, atomically.

    Memory stays at one block whatever the total: words and rows are appended to the
    files as they come, and the ``.npy`` header, reserved for ``max_rows`` rows (any
    count when None), gets the real count at the end. ``dim`` None: the first block's.
    Words are checked for whitespace as they pass (the write is then abandoned).
    """
    import contextlib

    reserve = len(_npy_header(max_rows if max_rows is not None else 10**15, dim or 10**6, dtype))

    def stream(vocab_f, npy_f) -> tuple[int, int]:
        n, d = 0, dim
        npy_f.write(b"\0" * reserve)
        for words, block in blocks:
            bad = next((w for w in words if not w or any(c in w for c in " \n\r")), None)
            if bad is not None:
                # A space or newline inside a word would make the file unreadable later.
                raise InputError(f"word {bad!r} contains whitespace and cannot be stored", path=path)
            if d is None:
                d = int(block.shape[1])
            vocab_f.write("\n".join(words) + "\n" if words else "")
            npy_f.write(np.ascontiguousarray(block, dtype=dtype).tobytes())
            n += len(words)
        if d is None:
            raise InputError("no vectors to write", path=path)
        npy_f.seek(0)
        npy_f.write(_npy_header(n, d, dtype, reserve))
        return n, d

    if fmt == "npy":
        p = Path(path)
        if not p.name.endswith(".npy"):
            p = p.with_name(p.name + ".npy")  # the vocabulary file is named after NAME.npy
        # Both renamed only once both are complete, vocabulary first: a matrix is never left
        # without its words.
        with contextlib.ExitStack() as stack:
            npy_f = stack.enter_context(atomic_file(p, "wb"))
            vocab_f = stack.enter_context(atomic_file(_npy_vocab_path(p), "w"))  # exits first
            stream(vocab_f, npy_f)
        return p
    with atomic_dir(path, force=True) as tmp:
        with open(tmp / DIR_VOCAB, "w", encoding="utf-8", newline="\n") as vocab_f, open(tmp / DIR_MATRIX, "wb") as f:
            n, d = stream(vocab_f, f)
        (tmp / DIR_META).write_text(json.dumps({"count": n, "dim": d, "dtype": dtype}) + "\n", encoding="utf-8")
    return Path(path)


def convert_vectors(
    src: str | Path,
    dst: str | Path,
    format: str | None = None,
    dtype: str = "float32",
    max_vocab: int | None = None,
    duplicates: str = "error",
    force: bool = False,
) -> Path:
    """Write ``src`` (any format :func:`load_vectors` reads) in the compact form at ``dst``.

    A text ``.vec`` is streamed: each block of rows is parsed, checked and written before
    the next is read, so converting fastText's 2,000,000 x 300 ``cc.xx.300.vec`` holds one
    block and the words (about 0.3 GB), not the 2.4 GB matrix. A compact source is copied
    block by block from its memory map. ``format``: ``npy`` or ``dir`` (default: from the
    suffix, as :func:`save_vectors`). An existing ``dst`` is replaced only with ``force``.
    """
    fmt = format or format_for_path(dst)
    if fmt not in ("npy", "dir"):
        raise InputError(f"convert writes the compact forms npy or dir, not {fmt!r}", path=dst)
    if dtype not in ("float32", "float16"):
        raise InputError(f"dtype must be float32 or float16, not {dtype!r}")
    if max_vocab is not None and max_vocab <= 0:
        raise InputError(f"--max-vocab must be positive, got {max_vocab}")
    out = Path(dst)
    if fmt == "npy" and not out.name.endswith(".npy"):
        out = out.with_name(out.name + ".npy")
    if out.exists() and not force:
        raise InputError("exists; pass --force to replace it", path=out)
    p = Path(src) if str(src) == STDIO else resolve_path(src)
    if str(src) != STDIO and detect_format(p) == "vec":
        check_nonempty(p)
        rows = _TextRows(p, max_vocab, duplicates)
        return _write_compact(iter(rows), out, fmt, dtype, None, max_vocab or _header_count(p))
    if str(src) == STDIO:
        return _write_compact(iter(_TextRows(STDIO, max_vocab, duplicates)), out, fmt, dtype, None, max_vocab)
    v = load_vectors(p, max_vocab, duplicates=duplicates, float32=False)
    return save_vectors(v, out, format=fmt, dtype=dtype)


def _header_count(p: Path) -> int | None:
    """The row count a ``.vec`` header declares (None without a header)."""
    lines = iter_lines(p)
    try:
        first = next(lines, None)
    finally:
        lines.close()
    h = _parse_header(first[1]) if first is not None else None
    return h[0] if h is not None else None


def _write_text(vectors: Vectors, f, precision: int) -> None:
    f.write(f"{len(vectors)} {vectors.dim}\n")
    # One %-format per row (a C loop) instead of one per number: ~3x faster.
    row_fmt = " ".join([f"%.{precision}g"] * vectors.dim)
    step = 4096
    for start in range(0, len(vectors), step):
        block = np.asarray(vectors.matrix[start : start + step], dtype=np.float32).tolist()
        f.write("".join(f"{w} {row_fmt % tuple(row)}\n" for w, row in zip(vectors.words[start : start + step], block)))


def lang_of(path: str | Path) -> str:
    """Language code from a vectors path: ``de.vec``, ``vectors/de``, ``wiki.de.vec`` -> ``de``."""
    name = Path(str(path).rstrip("/")).name
    for suffix in (".gz", ".vec", ".txt", ".bin", ".npy"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name.rsplit(".", 1)[-1] if "." in name else name


def check_same_dim(vectors_by_lang: dict[str, Vectors]) -> int:
    """The common dimension, or an :class:`InputError` naming the two files that differ."""
    dims = {lang: v.dim for lang, v in vectors_by_lang.items()}
    first = next(iter(vectors_by_lang))
    for lang, d in dims.items():
        if d != dims[first]:
            a, b = vectors_by_lang[first], vectors_by_lang[lang]
            raise InputError(
                f"dimension {d} differs from {first}'s {dims[first]} ({a.path}); "
                f"all languages must share one dimension",
                path=b.path or lang,
            )
    return dims[first]


def finite_or_raise(m: np.ndarray, what: str) -> None:
    if not np.isfinite(m).all():
        raise InputError(f"{what} contains NaN or inf")
