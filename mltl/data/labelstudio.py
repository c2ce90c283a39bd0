"""Label Studio: tasks to import (``mltl predict --format labelstudio``), its JSON export back in
(``mltl prepare --format labelstudio``) and a labeling config that matches a model's labels.

Task (import)::

    {"data": {"text": "…"},
     "predictions": [{"model_version": "…", "score": 0.93,
                      "result": [{"from_name": "label", "to_name": "text", "type": "labels",
                                  "value": {"start": 0, "end": 5, "text": "Alice", "labels": ["PER"]},
                                  "score": 0.97}]}]}

Classification results are ``"type": "choices"`` with ``"value": {"choices": ["LABEL"]}``. The
project's labeling config (:func:`labeling_config`) names its tags ``label`` (the ``Labels`` or
``Choices``) and ``text`` (the ``Text``, reading ``$text``), which is what the results point at.

The *export* (Label Studio's "JSON" format) is a list of tasks with ``id``, ``data`` and
``annotations`` (each with ``result``, ``was_cancelled``, ``updated_at``). The latest annotation
that was not cancelled is the one read; spans become BIO tags on the dataset's tokens exactly as
with doccano (:func:`mltl.data.doccano.spans_to_sentence`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator
from xml.sax.saxutils import quoteattr

from mltl.data.classify import Document
from mltl.data.conll import Sentence
from mltl.data.doccano import check_label, spans_to_sentence
from mltl.errors import InputError

FROM_NAME = "label"  # the <Labels>/<Choices> tag of the labeling config
TO_NAME = "text"  # the <Text> tag it annotates


def labeling_config(labels: Iterable[str], token_level: bool) -> str:
    """A Label Studio labeling config (XML) for a NER project (``Labels``) or a text-classification
    project (``Choices``) with these labels, named as mltl's tasks expect."""
    items = "\n".join(f"    <{'Label' if token_level else 'Choice'} value={quoteattr(lab)}/>" for lab in labels)
    if token_level:
        return (
            "<View>\n"
            f'  <Labels name="{FROM_NAME}" toName="{TO_NAME}">\n{items}\n  </Labels>\n'
            f'  <Text name="{TO_NAME}" value="$text"/>\n'
            "</View>\n"
        )
    return (
        "<View>\n"
        f'  <Text name="{TO_NAME}" value="$text"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInline="true">\n{items}\n  </Choices>\n'
        "</View>\n"
    )


def span_result(i: int, start: int, end: int, text: str, label: str, score: float | None) -> dict[str, Any]:
    """One predicted entity as a Label Studio ``labels`` result."""
    res: dict[str, Any] = {
        "id": f"mltl-{i}",
        "from_name": FROM_NAME,
        "to_name": TO_NAME,
        "type": "labels",
        "value": {"start": start, "end": end, "text": text, "labels": [label]},
    }
    if score is not None:
        res["score"] = score
    return res


def choice_result(label: str, score: float | None) -> dict[str, Any]:
    """A predicted document label as a Label Studio ``choices`` result."""
    res: dict[str, Any] = {
        "id": "mltl-0",
        "from_name": FROM_NAME,
        "to_name": TO_NAME,
        "type": "choices",
        "value": {"choices": [label]},
    }
    if score is not None:
        res["score"] = score
    return res


def task(text: str, results: list[dict[str, Any]], score: float | None, model_version: str, meta: dict) -> dict:
    """A task to import: ``data.text`` (plus the input's other JSONL keys) and one prediction."""
    pred: dict[str, Any] = {"model_version": model_version, "result": results}
    if score is not None:
        pred["score"] = score
    return {"data": {**meta, "text": text}, "predictions": [pred]}


# -- the export, back in ---------------------------------------------------------------------------


def _tasks(path: str | Path, encoding: str) -> list[dict]:
    p = Path(path)
    try:
        raw = p.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"not {encoding} text (byte {exc.start})", path=p) from None
    try:
        tasks = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", path=p, line=exc.lineno) from None
    if isinstance(tasks, dict):  # a single task
        tasks = [tasks]
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise InputError("a Label Studio JSON export is a list of tasks", path=p)
    for t in tasks:
        if "data" not in t or "annotations" not in t:
            raise InputError(
                f"{_name(t)} has no "
                + ("data" if "data" not in t else "annotations")
                + ": this is not Label Studio's JSON export (export the project as JSON, not JSON-MIN or CSV; "
                "a task list to import, with predictions only, has no corrections to read)",
                path=p,
            )
    return tasks


def _name(t: dict) -> str:
    return f"task id {t['id']}" if "id" in t else "task"


def _annotation(t: dict, path: str | Path) -> dict | None:
    """The latest annotation of ``t`` that was not cancelled (skipped); None when there is none."""
    anns = t.get("annotations") or []
    if not isinstance(anns, list) or not all(isinstance(a, dict) for a in anns):
        raise InputError(f"{_name(t)}: annotations must be a list of objects", path=path)
    done = [a for a in anns if not a.get("was_cancelled")]
    if not done:
        return None
    return max(enumerate(done), key=lambda ia: (str(ia[1].get("updated_at") or ""), ia[0]))[1]


def _text(t: dict, field: str, path: str | Path) -> str:
    data = t.get("data")
    if not isinstance(data, dict) or not isinstance(data.get(field), str):
        have = ", ".join(sorted(data)) if isinstance(data, dict) else "none"
        raise InputError(f"{_name(t)}: data has no {field!r} text (its keys: {have}; see --text-field)", path=path)
    return data[field]


def _results(t: dict, ann: dict, path: str | Path) -> list[dict]:
    res = ann.get("result") or []
    if not isinstance(res, list) or not all(isinstance(r, dict) for r in res):
        raise InputError(f"{_name(t)}: an annotation's result must be a list of objects", path=path)
    return res


def _missing(t: dict, cancelled: bool, path: str | Path) -> InputError:
    why = "only cancelled (skipped) annotations" if cancelled else "no annotations"
    return InputError(
        f"{_name(t)} has {why}; label it, leave it out of the export, or pass --skip-unannotated", path=path
    )


def read_labelstudio_tagged(
    path: str | Path,
    tokenizer: Any,
    repair: bool = False,
    encoding: str = "utf-8",
    text_field: str = "text",
    labels: Iterable[str] | None = None,
    skip_unannotated: bool = False,
) -> tuple[list[Sentence], dict[str, int]]:
    """Sentences with BIO tags from the ``labels`` results of a NER project's JSON export; returns
    (sentences, counts ``{"spans_snapped", "tasks_skipped"}``)."""
    known = set(labels) if labels is not None else None
    sents: list[Sentence] = []
    counts = {"spans_snapped": 0, "tasks_skipped": 0}
    for n, t in enumerate(_tasks(path, encoding), 1):
        ann = _annotation(t, path)
        if ann is None:
            if skip_unannotated:
                counts["tasks_skipped"] += 1
                continue
            raise _missing(t, bool(t.get("annotations")), path)
        text = _text(t, text_field, path)
        spans: list[tuple[int, int, str]] = []
        for r in _results(t, ann, path):
            kind = r.get("type")
            if kind == "choices":
                raise InputError(
                    f"{_name(t)}: a 'choices' annotation in a tagging dataset (a text-classification "
                    "project? prepare it with --task classification)",
                    path=path,
                )
            if kind != "labels":  # relations, comments, …: not entity spans
                continue
            v = r.get("value") or {}
            start, end, labs = v.get("start"), v.get("end"), v.get("labels")
            if not (isinstance(start, int) and isinstance(end, int) and isinstance(labs, list) and len(labs) == 1):
                raise InputError(
                    f"{_name(t)}: a labels result needs value.start, value.end (characters) and exactly one "
                    f"label, got {json.dumps(v, ensure_ascii=False)[:120]}",
                    path=path,
                )
            if "text" in v and 0 <= start <= end <= len(text) and v["text"] != text[start:end]:
                raise InputError(
                    f"{_name(t)}: span [{start}, {end}] says {v['text']!r} but the task's text there is "
                    f"{text[start:end]!r} (was data.{text_field} changed after labeling?)",
                    path=path,
                )
            check_label(_name(t), labs[0], known, path)
            spans.append((start, end, labs[0]))
        sent, snapped = spans_to_sentence(text, spans, tokenizer, repair, _name(t), path)
        counts["spans_snapped"] += snapped
        if sent is not None:
            sent.lines = [n] * len(sent.tokens)  # the task's position in the export
            sents.append(sent)
    return sents, counts


def read_labelstudio_documents(
    path: str | Path,
    encoding: str = "utf-8",
    text_field: str = "text",
    labels: Iterable[str] | None = None,
    skip_unannotated: bool = False,
) -> Iterator[Document]:
    """Documents from the ``choices`` results of a text-classification project's JSON export."""
    known = set(labels) if labels is not None else None
    for n, t in enumerate(_tasks(path, encoding), 1):
        ann = _annotation(t, path)
        if ann is None:
            if skip_unannotated:
                continue
            raise _missing(t, bool(t.get("annotations")), path)
        text = _text(t, text_field, path)
        chosen: list[str] = []
        for r in _results(t, ann, path):
            if r.get("type") == "labels":
                raise InputError(
                    f"{_name(t)}: entity spans in a classification dataset (a NER project? prepare it with "
                    "--task tagging)",
                    path=path,
                )
            if r.get("type") == "choices":
                ch = (r.get("value") or {}).get("choices")
                if not isinstance(ch, list) or not all(isinstance(c, str) for c in ch):
                    raise InputError(f"{_name(t)}: value.choices must be a list of labels", path=path)
                chosen.extend(ch)
        if len(chosen) != 1:
            raise InputError(
                f"{_name(t)}: {len(chosen)} choices; a classification dataset takes exactly one per document",
                path=path,
            )
        check_label(_name(t), chosen[0], known, path)
        if not text.strip():
            raise InputError(f"{_name(t)}: empty text", path=path)
        yield Document(text.strip(), chosen[0], n, str(path))


__all__ = [
    "labeling_config",
    "span_result",
    "choice_result",
    "task",
    "read_labelstudio_tagged",
    "read_labelstudio_documents",
]
