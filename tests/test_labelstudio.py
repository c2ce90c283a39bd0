"""Issue 19, Label Studio: tasks mltl writes are what Label Studio imports, and its JSON export comes
back through `mltl prepare --format labelstudio` with the same spans; bad exports are named by task id.
(The round trip through a real, local Label Studio server is tests/test_labelstudio_server.py.)"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from test_exports import LINES, _tags

from mltl.data.labelstudio import labeling_config
from mltl.data.prepare import prepare
from mltl.errors import InputError
from mltl.predict import Item, labelstudio_task, read_items
from mltl.text.tokenize import get_tokenizer


def _tasks(lang: str, tmp_path) -> tuple[list[Item], list[dict]]:
    f = tmp_path / f"{lang}.txt"
    f.write_bytes("\r\n".join(LINES[lang]).encode("utf-8") + b"\r\n")
    items = list(read_items(str(f), "text", get_tokenizer(lang)))
    tasks = []
    for it in items:
        tags = _tags(len(it.tokens))
        probs = [0.6 + 0.01 * i for i in range(len(tags))]
        tasks.append(labelstudio_task(it, {"tags": tags, "tag_probs": probs}, True, "bio", "de/model-best"))
    return items, tasks


def _exported(tasks: list[dict], first_id: int = 1) -> list[dict]:
    """What Label Studio's JSON export holds once people accepted the predictions as they were."""
    return [
        {
            "id": first_id + i,
            "data": t["data"],
            "annotations": [{"id": 100 + i, "was_cancelled": False, "result": t["predictions"][0]["result"]}],
            "predictions": [],
        }
        for i, t in enumerate(tasks)
    ]


@pytest.mark.parametrize("lang", sorted(LINES))
def test_tasks_carry_exact_spans_and_scores_and_come_back_unchanged(lang, tmp_path):
    items, tasks = _tasks(lang, tmp_path)
    for it, t in zip(items, tasks):
        assert t["data"]["text"] == it.text
        (pred,) = t["predictions"]
        assert pred["model_version"] == "de/model-best" and 0 < pred["score"] <= 1
        assert pred["result"], "every test sentence has spans"
        for r in pred["result"]:
            v = r["value"]
            assert (r["from_name"], r["to_name"], r["type"]) == ("label", "text", "labels")
            assert it.text[v["start"] : v["end"]] == v["text"] and v["labels"] == ["LOC"]
            assert 0 < r["score"] <= 1
    export = tmp_path / "export.json"
    export.write_text(json.dumps(_exported(tasks), ensure_ascii=False), encoding="utf-8")
    meta = prepare([str(export)], tmp_path / "data", task="tagging", lang=lang, fmt="labelstudio", labels="LOC")
    assert meta["splits"]["train"]["items"] == len(items) and meta["spans_snapped"] == 0
    back = [json.loads(x) for x in (tmp_path / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["tokens"] for r in back] == [it.tokens for it in items]
    assert [r["tags"] for r in back] == [_tags(len(it.tokens)) for it in items]


def test_the_latest_annotation_that_was_not_cancelled_is_read(tmp_path):
    text = "Angela Merkel besuchte Berlin."
    per = {"type": "labels", "value": {"start": 0, "end": 13, "labels": ["PER"]}}
    loc = {"type": "labels", "value": {"start": 23, "end": 29, "labels": ["LOC"]}}
    anns = [
        {"id": 1, "was_cancelled": False, "updated_at": "2026-01-02T10:00:00Z", "result": [per]},
        {"id": 2, "was_cancelled": False, "updated_at": "2026-01-03T10:00:00Z", "result": [per, loc]},
        {"id": 3, "was_cancelled": True, "updated_at": "2026-01-04T10:00:00Z", "result": []},
    ]
    export = tmp_path / "e.json"
    export.write_text(json.dumps([{"id": 5, "data": {"text": text}, "annotations": anns}]), encoding="utf-8")
    prepare([str(export)], tmp_path / "d", task="tagging", lang="de", fmt="labelstudio")
    rec = json.loads((tmp_path / "d" / "train.jsonl").read_text(encoding="utf-8"))
    assert rec["tags"] == ["B-PER", "I-PER", "O", "B-LOC", "O"]


GOOD = {"type": "labels", "value": {"start": 0, "end": 13, "text": "Angela Merkel", "labels": ["PER"]}}


@pytest.mark.parametrize(
    "task,message",
    [
        ({"annotations": []}, "task id 2 has no annotations; label it, leave it out of the export, or pass"),
        ({"annotations": [{"was_cancelled": True, "result": []}]}, "task id 2 has only cancelled"),
        (
            {
                "annotations": [
                    {"result": [GOOD, {"type": "labels", "value": {"start": 7, "end": 22, "labels": ["LOC"]}}]}
                ]
            },
            "overlaps another span",
        ),
        (
            {"annotations": [{"result": [{"type": "labels", "value": {"start": 0, "end": 6, "labels": ["MONEY"]}}]}]},
            "task id 2: label 'MONEY' is not one of the known labels (LOC, PER)",
        ),
        (
            {"annotations": [{"result": [{"type": "choices", "value": {"choices": ["sports"]}}]}]},
            "a 'choices' annotation in a tagging dataset",
        ),
        (
            {
                "annotations": [
                    {
                        "result": [
                            {"type": "labels", "value": {"start": 0, "end": 6, "text": "Angie", "labels": ["PER"]}}
                        ]
                    }
                ]
            },
            "says 'Angie' but the task's text there is 'Angela'",
        ),
        (
            {"annotations": [{"result": [{"type": "labels", "value": {"start": 0, "end": 10, "labels": ["PER"]}}]}]},
            "does not start and end on token boundaries; pass --repair",
        ),
    ],
)
def test_bad_exports_name_the_task(tmp_path, task, message):
    good = {"id": 1, "data": {"text": "Angela Merkel besuchte Berlin."}, "annotations": [{"result": [GOOD]}]}
    export = tmp_path / "e.json"
    export.write_text(json.dumps([good, {"id": 2, "data": {"text": "Angela Merkel besuchte Berlin."}, **task}]))
    with pytest.raises(InputError, match=re.escape(message)) as exc:
        prepare([str(export)], tmp_path / "d", task="tagging", lang="de", fmt="labelstudio", labels=["PER", "LOC"])
    assert str(export) in str(exc.value)
    assert not (tmp_path / "d").exists()


def test_unannotated_tasks_can_be_skipped_and_are_counted(tmp_path):
    export = tmp_path / "e.json"
    export.write_text(
        json.dumps(
            [
                {"id": 1, "data": {"text": "Angela Merkel besuchte Berlin."}, "annotations": [{"result": [GOOD]}]},
                {"id": 2, "data": {"text": "Niemand."}, "annotations": []},
                {"id": 3, "data": {"text": "Keiner."}, "annotations": [{"was_cancelled": True, "result": []}]},
            ]
        )
    )
    meta = prepare([str(export)], tmp_path / "d", task="tagging", lang="de", fmt="labelstudio", skip_unannotated=True)
    assert meta["tasks_skipped"] == 2 and meta["splits"]["train"]["items"] == 1


def test_cli_names_the_file_and_task_and_writes_nothing(tmp_path):
    from conftest import assert_one_line_error, run_cli

    export = tmp_path / "e.json"
    export.write_text(json.dumps([{"id": 41, "data": {"text": "Hallo Welt."}, "annotations": []}]))
    p = run_cli("prepare", "--format", "labelstudio", "--lang", "de", export, "-o", tmp_path / "d")
    assert_one_line_error(p, "e.json", "task id 41 has no annotations", "--skip-unannotated")
    assert not (tmp_path / "d").exists()
    # a task list to import (predictions, no annotations key) or JSON-MIN is not an export
    export.write_text(json.dumps([{"id": 1, "text": "Hallo", "label": []}]))
    p = run_cli("prepare", "--format", "labelstudio", "--lang", "de", export, "-o", tmp_path / "d")
    assert_one_line_error(p, "e.json", "task id 1 has no data", "not JSON-MIN")


def test_classification_export(tmp_path):
    def t(i, text, choice):
        res = [{"type": "choices", "from_name": "label", "to_name": "text", "value": {"choices": [choice]}}]
        return {"id": i, "data": {"review": text}, "annotations": [{"result": res}]}

    export = tmp_path / "c.json"
    export.write_text(json.dumps([t(1, "Sehr gut!", "pos"), t(2, "Kaputt.", "neg")]))
    meta = prepare(
        [str(export)], tmp_path / "d", task="classification", lang="de", fmt="labelstudio", text_field="review"
    )
    assert meta["labels"] == ["neg", "pos"] and meta["splits"]["train"]["items"] == 2
    with pytest.raises(InputError, match="task id 1: data has no 'text' text"):
        prepare([str(export)], tmp_path / "e", task="classification", lang="de", fmt="labelstudio")
    # mltl's own classification task: one choices result with the label's probability as its score
    pred = {"label": "pos", "probs": {"neg": 0.2, "pos": 0.8}}
    task = labelstudio_task(Item(["Sehr", "gut", "!"], "Sehr gut!", [(0, 4), (5, 8), (8, 9)]), pred, False, None, "m")
    (res,) = task["predictions"][0]["result"]
    assert res["value"] == {"choices": ["pos"]} and task["predictions"][0]["score"] == pytest.approx(0.8)


def test_labeling_config_lists_the_labels():
    ner = ET.fromstring(labeling_config(["LOC", "PER", 'A"B'], True))
    assert ner.find("Labels").get("name") == "label" and ner.find("Labels").get("toName") == "text"
    assert [x.get("value") for x in ner.iter("Label")] == ["LOC", "PER", 'A"B']
    assert ner.find("Text").get("value") == "$text"
    cls = ET.fromstring(labeling_config(["neg", "pos"], False))
    assert [x.get("value") for x in cls.iter("Choice")] == ["neg", "pos"]


def test_the_labeling_doc_shows_the_script_that_is_tested():
    from conftest import ROOT

    script = (ROOT / "examples" / "labeling" / "round.sh").read_text(encoding="utf-8")
    assert f"```bash\n{script}```" in (ROOT / "docs" / "labeling.md").read_text(encoding="utf-8")


def test_several_inputs_to_one_stream_are_refused(tmp_path):
    # one JSON list per input: two lists on stdout would not be JSON
    from conftest import assert_one_line_error, run_cli

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("Hallo Welt.\n", encoding="utf-8")
    b.write_text("Guten Tag.\n", encoding="utf-8")
    p = run_cli("predict", "--model", tmp_path / "no-model", a, b, "--format", "labelstudio")
    assert_one_line_error(p, "--format labelstudio writes one JSON list per input", "-o DIR")
