"""Text classification inputs: TSV (``label<TAB>text``, or a table with a header), CSV with or
without a header, JSONL."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from mltl.data.jsonl import read_jsonl
from mltl.errors import InputError
from mltl.files import iter_lines

CLS_FORMATS = ("tsv", "csv", "jsonl", "doccano", "labelstudio", "spacy")


@dataclass
class Document:
    text: str
    label: str
    line: int
    source: str = ""


def _field_index(field: str, header: list[str] | None, path, what: str) -> int:
    """A column named in the header, or a 0-based index (files without a header)."""
    if header is not None and field in header:
        return header.index(field)
    if field.lstrip("-").isdigit():
        return int(field)
    if header is None:
        raise InputError(
            f"{what} {field!r}: a file without a header row needs a column number "
            f"(0-based), e.g. --{what.split('-', 1)[1]} 1",
            path=path,
        )
    raise InputError(f"header {header} has no column {field!r} (set --text-field/--label-field)", path=path, line=1)


def read_classification(
    path: str | Path,
    fmt: str = "tsv",
    text_field: str = "text",
    label_field: str = "label",
    encoding: str = "utf-8",
    header: bool | None = None,
    labels: Sequence[str] | None = None,
    skip_unannotated: bool = False,
) -> Iterator[Document]:
    """Yield labeled documents (``labels``/``skip_unannotated``: for labeling tools' exports, see
    :mod:`mltl.data.labelstudio`).

    TSV is ``label<TAB>text`` without a header by default; with ``header=True`` (or with
    ``text_field``/``label_field`` given as column numbers) it is a table whose columns
    are chosen by name or 0-based number (SIB-200: ``index_id category text``). CSV has a
    header by default; ``header=False`` reads columns by number (MARC: ``id,text,label``).
    JSONL objects have ``text_field`` and ``label_field`` keys.
    """
    if fmt == "tsv" and not header and not (text_field.isdigit() or label_field.isdigit()):
        for lineno, line in iter_lines(path, encoding):
            if not line.strip():
                continue
            if "\t" not in line:
                raise InputError("expected label<TAB>text, found no tab", path=path, line=lineno)
            if line.count("\t") > 1:
                raise InputError(
                    f"expected label<TAB>text, found {line.count(chr(9)) + 1} columns "
                    "(for a table with more columns give --header and --text-field/--label-field, "
                    "or column numbers)",
                    path=path,
                    line=lineno,
                )
            label, text = line.split("\t", 1)
            label, text = label.strip(), text.strip()
            if not label or not text:
                raise InputError("empty label or text", path=path, line=lineno)
            yield Document(text, label, lineno, str(path))
    elif fmt in ("tsv", "csv"):
        has_header = (fmt == "csv") if header is None else header
        if fmt == "tsv":
            # Tabs only, no quoting: TSV text may hold quotes of its own.
            reader = csv.reader(
                (line + "\n" for _, line in iter_lines(path, encoding)), delimiter="\t", quoting=csv.QUOTE_NONE
            )
        else:
            reader = csv.reader(line + "\n" for _, line in iter_lines(path, encoding))
        try:
            names = None
            if has_header:
                names = next(reader, None)
                if names is None:
                    raise InputError("file is empty", path=path)
                names = [n.strip() for n in names]
            ti = _field_index(text_field, names, path, "--text-field")
            li = _field_index(label_field, names, path, "--label-field")
            width = len(names) if names is not None else None
            for row in reader:
                if not row or not any(c.strip() for c in row):
                    continue
                if width is None:
                    width = len(row)
                if len(row) != width:
                    raise InputError(
                        f"expected {width} {fmt.upper()} fields, found {len(row)}", path=path, line=reader.line_num
                    )
                try:
                    text, label = row[ti].strip(), row[li].strip()
                except IndexError:
                    raise InputError(
                        f"no column {max(ti, li)} in a row of {len(row)} fields", path=path, line=reader.line_num
                    ) from None
                if not label or not text:
                    raise InputError("empty label or text", path=path, line=reader.line_num)
                yield Document(text, label, reader.line_num, str(path))
        except csv.Error as exc:
            raise InputError(f"malformed {fmt.upper()}: {exc}", path=path, line=reader.line_num) from None
    elif fmt == "jsonl":
        for lineno, obj in read_jsonl(path, encoding):
            if text_field not in obj or label_field not in obj:
                raise InputError(f"missing key {text_field!r} or {label_field!r}", path=path, line=lineno)
            yield Document(str(obj[text_field]), str(obj[label_field]), lineno, str(path))
    elif fmt == "doccano":
        from mltl.data.doccano import read_doccano_documents

        yield from read_doccano_documents(path, encoding, labels)
    elif fmt == "labelstudio":
        from mltl.data.labelstudio import read_labelstudio_documents

        yield from read_labelstudio_documents(path, encoding, text_field, labels, skip_unannotated)
    elif fmt == "spacy":
        from mltl.data.doccano import read_docbin_documents

        yield from read_docbin_documents(path)
    else:
        raise InputError(f"unknown classification format {fmt!r}; choose one of: {', '.join(CLS_FORMATS)}")
