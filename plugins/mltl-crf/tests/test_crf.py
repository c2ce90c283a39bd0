"""The CRF against brute-force enumeration of every tag sequence (tiny sizes)."""

from __future__ import annotations

import itertools

import pytest
import torch
from mltl_crf import CRFHead, LinearChainCRF, allowed_transitions

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def _crf(L: int, allowed=None, seed: int = 0) -> LinearChainCRF:
    g = torch.Generator().manual_seed(seed)
    crf = LinearChainCRF(L, allowed)
    with torch.no_grad():
        for p in (crf.trans, crf.start, crf.end):
            p.copy_(torch.randn(p.shape, generator=g))
    return crf


def _brute(crf: LinearChainCRF, em: torch.Tensor, n: int):
    """All L^n paths of one sentence (em (T, L), length n): their scores."""
    L = em.shape[1]
    paths = list(itertools.product(range(L), repeat=n))
    y = torch.tensor(paths)
    mask = torch.ones(len(paths), n, dtype=torch.bool)
    scores = crf.score(em[:n].expand(len(paths), n, L), y, mask)
    return paths, scores


@pytest.mark.parametrize("constrained", [False, True])
def test_forward_viterbi_max_marginals_equal_brute_force(constrained):
    L = len(LABELS)
    crf = _crf(L, allowed_transitions(LABELS) if constrained else None)
    g = torch.Generator().manual_seed(1)
    lengths = [4, 1, 3, 2]
    T = max(lengths)
    em = torch.randn(len(lengths), T, L, generator=g, dtype=torch.float64)
    crf = crf.double()
    mask = torch.arange(T)[None] < torch.tensor(lengths)[:, None]
    logz = crf.log_partition(em, mask)
    path, best = crf.viterbi(em, mask)
    mm = crf.max_marginals(em, mask)
    for b, n in enumerate(lengths):
        paths, scores = _brute(crf, em[b], n)
        assert torch.allclose(logz[b], torch.logsumexp(scores, 0))
        k = int(scores.argmax())
        assert tuple(path[b, :n].tolist()) == paths[k]
        assert torch.allclose(best[b], scores[k])
        assert (path[b, n:] == 0).all()
        for t in range(n):
            for y in range(L):
                want = max(s for p, s in zip(paths, scores.tolist()) if p[t] == y)
                assert mm[b, t, y].item() == pytest.approx(want, abs=1e-9)


def test_nll_is_a_distribution():
    L = 3
    crf = _crf(L).double()
    em = torch.randn(1, 3, L, dtype=torch.float64)
    mask = torch.ones(1, 3, dtype=torch.bool)
    with torch.no_grad():
        total = sum(torch.exp(-crf.nll(em, torch.tensor([p]), mask)) for p in itertools.product(range(L), repeat=3))
    assert float(total) == pytest.approx(1.0)


def test_bio_constraints_never_produce_i_after_o():
    L = len(LABELS)
    crf = _crf(L, allowed_transitions(LABELS), seed=3)
    g = torch.Generator().manual_seed(4)
    em = torch.randn(64, 7, L, generator=g)
    em[..., 2] += 3.0  # emissions strongly prefer I-PER everywhere
    em[..., 4] += 2.0
    mask = torch.ones(64, 7, dtype=torch.bool)
    mask[::3, 5:] = False
    path, _ = crf.viterbi(em, mask)
    dec = crf.decode_log_probs(em, mask).argmax(-1)
    for p_ in (path, dec):
        for b in range(64):
            n = int(mask[b].sum())
            tags = [LABELS[i] for i in p_[b, :n].tolist()]
            for prev, cur in zip(["O", *tags], tags):
                if cur.startswith("I-"):
                    assert prev in ("B-" + cur[2:], cur), tags


def test_bioes_and_plain_tag_sets():
    assert allowed_transitions(["NOUN", "VERB"]) is None
    trans, start, end = allowed_transitions(["O", "B-X", "I-X", "E-X", "S-X"])
    assert not start[2] and not start[3] and start[1] and start[4]
    assert not end[1] and not end[2] and end[3]
    assert trans[1, 2] and trans[1, 3] and not trans[0, 3] and not trans[1, 0] and trans[3, 0]


@pytest.mark.parametrize("moe", [True, False])
def test_head_trains_and_decodes(moe):
    torch.manual_seed(0)
    head = CRFHead(8, len(LABELS), 2, hidden=8, moe=moe, dropout=0.0, labels=LABELS)
    feats = torch.randn(3, 5, 8)
    mask = torch.tensor([[1] * 5, [1] * 3 + [0] * 2, [1] * 1 + [0] * 4], dtype=torch.bool)
    gold = torch.tensor([[1, 2, 0, 3, 4], [0, 1, 2, -100, -100], [3, -100, -100, -100, -100]])
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(150):
        head.train()
        em, gate = head(feats, mask)
        assert (gate is not None) == moe
        loss = head.loss(em, gold, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    head.eval()
    with torch.no_grad():
        lp, _ = head(feats, mask)
    assert torch.allclose(lp.exp().sum(-1), torch.ones(3, 5), atol=1e-5)
    pred = lp.argmax(-1)
    assert pred[mask].tolist() == gold[mask].tolist()
