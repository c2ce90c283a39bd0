"""Evaluation equals seqeval (the oracle) on hand-made edge cases."""

import pytest
from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score
from seqeval.metrics import classification_report as seq_report

from mltl.evaluation import classification_report, gate_report, tagging_report, token_groups

CASES = {
    "entity at sentence end": ([["O", "B-PER", "I-PER"], ["B-LOC"]], [["O", "B-PER", "I-PER"], ["O"]]),
    "I- without B-": ([["O", "B-ORG", "I-ORG", "O", "B-LOC"]], [["O", "I-ORG", "I-ORG", "O", "I-LOC"]]),
    "type switch inside span": ([["B-PER", "I-PER", "I-PER", "O"]], [["B-PER", "I-LOC", "I-PER", "O"]]),
    "IOB1 input": ([["I-PER", "I-PER", "B-PER", "O", "I-LOC"]], [["I-PER", "I-PER", "I-PER", "O", "I-LOC"]]),
    "no entities predicted": ([["B-MISC", "O"], ["O", "B-ORG"]], [["O", "O"], ["O", "O"]]),
    "adjacent same-type entities": ([["B-LOC", "B-LOC", "I-LOC", "O"]], [["B-LOC", "I-LOC", "I-LOC", "O"]]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_tagging_report_equals_seqeval(name):
    gold, pred = CASES[name]
    r = tagging_report(gold, pred)
    assert r["precision"] == pytest.approx(precision_score(gold, pred))
    assert r["recall"] == pytest.approx(recall_score(gold, pred))
    assert r["f1"] == pytest.approx(f1_score(gold, pred))
    assert r["token_accuracy"] == pytest.approx(accuracy_score(gold, pred))
    oracle = seq_report(gold, pred, output_dict=True, zero_division=0)
    for typ, scores in r["per_type"].items():
        if typ in oracle:
            assert scores["f1"] == pytest.approx(oracle[typ]["f1-score"]), typ
            assert scores["support"] == oracle[typ]["support"], typ


def test_tagging_report_rejects_length_mismatch():
    with pytest.raises(ValueError, match="sentence 1: 2 gold tags but 1 predicted"):
        tagging_report([["O", "O"]], [["O"]])


def test_classification_report():
    gold = ["a", "a", "b", "c", "c", "c"]
    pred = ["a", "b", "b", "c", "c", "a"]
    r = classification_report(gold, pred)
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["confusion"] == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    f1s = [2 * 0.5 * 0.5 / 1.0, 2 * 0.5 * 1 / 1.5, 2 * 1 * (2 / 3) / (1 + 2 / 3)]
    assert r["macro_f1"] == pytest.approx(sum(f1s) / 3)


def test_gate_report_averages_by_entity_type():
    recs = [
        {
            "gate_fp": [[0.8, 0.2], [0.4, 0.6]],
            "gate_c": [[1.0, 0.0], [0.0, 1.0]],
            "groups": token_groups(["B-PER", "O"]),
        }
    ]
    r = gate_report(recs, ["en", "es"])
    assert r["fp"]["all"] == pytest.approx([0.6, 0.4])
    assert r["fp"]["by"] == {"PER": pytest.approx([0.8, 0.2])}
    assert r["c"]["all"] == pytest.approx([0.5, 0.5])
