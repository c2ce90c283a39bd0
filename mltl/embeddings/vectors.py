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
from typing import Any

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
    path: str | Path, max_vocab: int | None = None, *, mmap: bool = True, duplicates: str = "error"
) -> Vectors:
    """Read vectors from ``.vec``/``.txt``(``.gz``), fastText ``.bin``, ``.npy`` or a directory.

    ``max_vocab`` keeps the N most frequent words (the first N rows). ``duplicates``:
    ``error`` (default) rejects a word seen twice; ``first`` keeps its first row.
    Compact float32 files stay memory-mapped (read-only) when ``mmap``; float16
    ones are converted to float32 in memory.
    """
    if max_vocab is not None and max_vocab <= 0:
        raise InputError(f"--max-vocab must be positive, got {max_vocab}")
    if duplicates not in ("error", "first"):
        raise ValueError(f"duplicates must be 'error' or 'first', not {duplicates!r}")
    if str(path) == STDIO:
        return _load_text(STDIO, max_vocab, duplicates)
    p = resolve_path(path)
    fmt = detect_format(p)
    if fmt == "dir":
        return _load_compact(p / DIR_MATRIX, p / DIR_VOCAB, max_vocab, mmap, shown=p)
    if fmt == "npy":
        return _load_compact(p, _npy_vocab_path(p), max_vocab, mmap, shown=p)
    check_nonempty(p)
    if fmt == "bin":
        return _load_bin(p, max_vocab)
    return _load_text(p, max_vocab, duplicates)


def _npy_vocab_path(p: Path) -> Path:
    return p.with_name(p.name[: -len(".npy")] + ".vocab.txt")


def _parse_header(line: str) -> tuple[int, int] | None:
    """``(count, dim)`` if the line is a fastText header, else None (a vector row)."""
    parts = line.split()
    if len(parts) == 2 and all(x.isdigit() for x in parts):
        return int(parts[0]), int(parts[1])
    return None


def _load_text(path: str | Path, max_vocab: int | None, duplicates: str) -> Vectors:
    """Parse ``.vec`` text, validating each row; blocks of rows become float32 at once.

    Speed matters (a 200k x 300 file is 600 MB of digits): each line is only
    partitioned into word and number string, and a block of 8192 number strings
    is parsed by numpy in one C call; the per-value checks run only when a block
    fails to parse, to name the bad line.
    """
    import warnings

    words: list[str] = []
    blocks: list[np.ndarray] = []
    pending: list[str] = []  # number strings of rows not yet converted
    pending_start = 0  # line number of pending[0]
    first_line: dict[str, int] = {}
    header: tuple[int, int] | None = None
    dim: int | None = None
    dim_line = 0
    name = "<stdin>" if str(path) == STDIO else path
    chunk = 8192

    def ragged(n_vals: int, lineno: int) -> InputError:
        what = "the header" if dim_line == 1 and header is not None else f"line {dim_line}"
        return InputError(
            f"row has {n_vals} values but {what} says dimension {dim} (ragged rows or a wrong header)",
            path=name,
            line=lineno,
        )

    def flush() -> None:
        nonlocal pending
        if not pending:
            return
        assert dim is not None  # set by the first row, before any row is pending
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a short parse is detected by the size check below
                block = np.fromstring(" ".join(pending), dtype=np.float32, sep=" ")
        except ValueError:  # numpy 2 raises where numpy 1 warned
            block = np.empty(0, dtype=np.float32)
        if block.size != len(pending) * dim:
            # Slow path, only on bad input: find the row and value that failed.
            for j, rest in enumerate(pending):
                vals = rest.split()
                if len(vals) != dim:
                    raise ragged(len(vals), pending_start + j)
                bad = next((v for v in vals if not _is_float(v)), None)
                if bad is not None:
                    raise InputError(f"not a number: {bad[:40]!r}", path=name, line=pending_start + j)
            raise InputError("could not parse the numbers of this block of rows", path=name, line=pending_start)
        block = block.reshape(len(pending), dim)
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            j = int(np.argmin(finite))
            raise InputError(
                f"vector of {words[len(words) - len(pending) + j]!r} contains NaN or inf",
                path=name,
                line=pending_start + j,
            )
        blocks.append(block)
        pending = []

    n_rows = 0  # vector rows read (duplicates skipped by 'first' included)
    complete = True  # read to the end of the file (not stopped by max_vocab)
    lines = iter_lines(path)
    for lineno, line in lines:
        if lineno == 1:
            header = _parse_header(line)
            if header is not None:
                if header[1] <= 0:
                    raise InputError(f"header says dimension {header[1]}", path=name, line=1)
                dim, dim_line = header[1], 1
                continue
        line = line.rstrip(" \t")
        if not line:
            raise InputError("empty line in vectors file", path=name, line=lineno)
        word, _, rest = line.partition(" ")
        n_vals = rest.count(" ") + 1 if rest else 0
        if dim is None:
            if n_vals == 0:
                raise InputError("row has a word but no numbers (is this a vectors file?)", path=name, line=lineno)
            dim, dim_line = len(rest.split()), lineno
        elif n_vals != dim and len(rest.split()) != dim:  # split() tolerates doubled spaces
            raise ragged(len(rest.split()), lineno)
        n_rows += 1
        if header is not None and n_rows > header[0]:
            raise InputError(
                f"header says {header[0]} vectors but the file has more (line 1 or the rows are wrong)",
                path=name,
                line=lineno,
            )
        prev = first_line.get(word)
        if prev is not None:
            if duplicates == "error":
                raise InputError(f"duplicate word {word!r} (first on line {prev})", path=name, line=lineno)
            continue
        first_line[word] = lineno
        if not pending:
            pending_start = lineno
        words.append(word)
        pending.append(rest)
        if len(pending) >= chunk:
            flush()
        if max_vocab is not None and len(words) >= max_vocab:
            # Stopped early: the header's count can be checked only if this was the last row.
            try:
                complete = next(lines, None) is None
            except InputError:  # a bad line after the ones we keep is not ours to judge
                complete = False
            break
    lines.close()
    flush()
    if not words:
        if header is not None:
            raise InputError("header but no vectors", path=name, line=1)
        raise InputError("file is empty", path=name)
    # Whenever the file was read to its end: a header that promises more rows than there
    # are means a truncated download or a hand-edited file.
    if header is not None and complete and header[0] != n_rows:
        raise InputError(f"header says {header[0]} vectors but the file has {n_rows}", path=name, line=1)
    matrix = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    return Vectors(words, matrix, path=str(name))


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _load_bin(p: Path, max_vocab: int | None) -> Vectors:
    try:
        import fasttext  # noqa: F401  (heavy; only for .bin)
    except ImportError:
        raise InputError(
            "reading .bin vectors needs the 'fasttext-numpy2' package (pip install fasttext-numpy2)", path=p
        ) from None
    model = _fasttext_load(p)
    vecs = vectors_from_fasttext(model, max_vocab)
    if not vecs.words:
        raise InputError("fastText model has an empty vocabulary", path=p)
    if not np.isfinite(vecs.matrix).all():
        raise InputError("model contains NaN or inf vectors", path=p)
    vecs.path = str(p)
    return vecs


def vectors_from_fasttext(model: Any, max_vocab: int | None = None) -> Vectors:
    """The vocabulary of a fastText model (most frequent first) with its word vectors.

    The model stays attached so :meth:`Vectors.oov_vector` can build vectors of
    unseen words from their character n-grams.
    """
    words = list(model.get_words())
    if max_vocab is not None:
        words = words[:max_vocab]
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


def _load_compact(npy: Path, vocab: Path, max_vocab: int | None, mmap: bool, shown: Path) -> Vectors:
    if not npy.exists():
        raise InputError(f"missing {npy.name} (compact vectors need the matrix and its vocabulary)", path=shown)
    if not vocab.exists():
        raise InputError(f"missing {vocab.name} beside the matrix", path=shown)
    try:
        matrix = np.load(npy, mmap_mode="r" if mmap else None, allow_pickle=False)
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
    if matrix.dtype != np.float32:
        matrix = np.asarray(matrix, dtype=np.float32)  # float16 on disk: compute in float32
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
    bad = next((w for w in vectors.words if not w or any(c in w for c in " \n\r")), None)
    if bad is not None:
        # A space or newline inside a word would make the file unreadable later.
        raise InputError(f"word {bad!r} contains whitespace and cannot be stored", path=path)
    if fmt == "vec":
        with atomic_file(path, "w") as f:
            _write_text(vectors, f, precision)
        return Path(path)
    if fmt == "npy":
        p = Path(path)
        if not p.name.endswith(".npy"):
            p = p.with_name(p.name + ".npy")  # the vocabulary file is named after NAME.npy
        vocab = _npy_vocab_path(p)
        # Vocabulary first: a matrix is never left without its words.
        with atomic_file(vocab, "w") as f:
            f.write("\n".join(vectors.words) + "\n")
        with atomic_file(p, "wb") as f:
            np.save(f, np.asarray(vectors.matrix, dtype=dtype))
        return p
    with atomic_dir(path, force=True) as tmp:
        np.save(tmp / DIR_MATRIX, np.asarray(vectors.matrix, dtype=dtype))
        (tmp / DIR_VOCAB).write_text("\n".join(vectors.words) + "\n", encoding="utf-8")
        (tmp / DIR_META).write_text(
            json.dumps({"count": len(vectors), "dim": vectors.dim, "dtype": dtype}) + "\n", encoding="utf-8"
        )
    return Path(path)


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
