"""Text classification inputs: TSV (``label<TAB>text``), CSV with a header, JSONL."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from mltl.data.jsonl import read_jsonl
from mltl.errors import InputError
from mltl.files import iter_lines

CLS_FORMATS = ("tsv", "csv", "jsonl")


@dataclass
class Document:
    text: str
    label: str
    line: int
    source: str = ""


def read_classification(path: str | Path, fmt: str = "tsv", text_field: str = "text",
                        label_field: str = "label", encoding: str = "utf-8") -> Iterator[Document]:
    """Yield labeled documents. TSV is ``label<TAB>text`` (no header); CSV needs a
    header naming ``text_field`` and ``label_field``; JSONL objects have those keys."""
    if fmt == "tsv":
        for lineno, line in iter_lines(path, encoding):
            if not line.strip():
                continue
            if "\t" not in line:
                raise InputError("expected label<TAB>text, found no tab", path=path, line=lineno)
            label, text = line.split("\t", 1)
            label, text = label.strip(), text.strip()
            if not label or not text:
                raise InputError("empty label or text", path=path, line=lineno)
            yield Document(text, label, lineno, str(path))
    elif fmt == "csv":
        reader = csv.reader(line + "\n" for _, line in iter_lines(path, encoding))
        try:
            header = next(reader, None)
            if header is None:
                raise InputError("file is empty", path=path)
            missing = [f for f in (text_field, label_field) if f not in header]
            if missing:
                raise InputError(f"CSV header {header} lacks {', '.join(missing)} "
                                 "(set --text-field/--label-field)", path=path, line=1)
            ti, li = header.index(text_field), header.index(label_field)
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise InputError(f"expected {len(header)} CSV fields, found {len(row)}",
                                     path=path, line=reader.line_num)
                yield Document(row[ti].strip(), row[li].strip(), reader.line_num, str(path))
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", path=path, line=reader.line_num) from None
    elif fmt == "jsonl":
        for lineno, obj in read_jsonl(path, encoding):
            if text_field not in obj or label_field not in obj:
                raise InputError(f"missing key {text_field!r} or {label_field!r}", path=path, line=lineno)
            yield Document(str(obj[text_field]), str(obj[label_field]), lineno, str(path))
    else:
        raise InputError(f"unknown classification format {fmt!r}; choose one of: {', '.join(CLS_FORMATS)}")
