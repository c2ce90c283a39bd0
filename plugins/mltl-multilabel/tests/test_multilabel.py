from __future__ import annotations

import numpy as np
import pytest
import torch
from mltl_multilabel import MultiLabelHead, MultiLabelTask, f1_scores, read_file
from mltl_multilabel.task import best_threshold

from mltl.errors import InputError


def test_readers(tmp_path):
    j = tmp_path / "a.jsonl"
    j.write_text(
        '{"text": "Stocks fell, sharply.", "labels": ["business", "news"]}\n\n{"tokens": ["A", "b"], "labels": []}\n',
        encoding="utf-8",
    )
    docs, labs = read_file(j)
    assert docs == [["Stocks", "fell", ",", "sharply", "."], ["A", "b"]] and labs == [["business", "news"], []]
    t = tmp_path / "a.tsv"
    t.write_text("sports,business\tThe club was sold.\nscience\tA virus\n", encoding="utf-8")
    docs, labs = read_file(t)
    assert labs == [["business", "sports"], ["science"]] and docs[1] == ["A", "virus"]
    (tmp_path / "bad.tsv").write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.tsv:1"):
        read_file(tmp_path / "bad.tsv")


def test_metric_thresholds_and_encoding():
    s = f1_scores([["a", "b"], ["b"]], [["a"], ["b", "c"]])
    assert s["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert s["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    t = best_threshold(np.array([0.9, 0.8, 0.3, 0.2]), np.array([True, True, True, False]))
    assert 0.2 < t <= 0.3
    assert best_threshold(np.array([0.9]), np.array([False])) == 0.5
    enc = MultiLabelTask().encode_labels([["b"], ["a", "b"], []], {"a": 0, "b": 1})
    assert enc.tolist() == [[0, 1], [1, 1], [0, 0]]


@pytest.mark.parametrize("moe", [True, False])
def test_head_learns_multilabel(moe):
    torch.manual_seed(0)
    head = MultiLabelHead(6, 3, 2, hidden=16, moe=moe, dropout=0.0)
    feats = torch.randn(8, 4, 6)
    mask = torch.ones(8, 4, dtype=torch.bool)
    gold = (torch.rand(8, 3) > 0.5).float()
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(200):
        head.train()
        scores, _ = head(feats, mask)
        loss = head.loss(scores, gold, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    head.eval()
    with torch.no_grad():
        logp, gate = head(feats, mask)
    assert ((logp.exp() >= 0.5).float() == gold).all() and (gate is not None) == moe
