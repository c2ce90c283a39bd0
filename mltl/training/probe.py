"""Diagnostic: how much language identity is left in the shared features Fs?

Trains a *fresh* language discriminator (same architecture as D) on frozen Fs
features of one half of some unlabeled text per language and reports its
accuracy on the other half. With the adversary working, this accuracy falls
towards chance (1 / #languages) compared with a ``--no-adversary`` model.
"""
from __future__ import annotations

import numpy as np


def language_probe(model, texts: dict[str, list[list[str]]], steps: int = 200, batch_size: int = 32,
                   seed: int = 0, lr: float = 1e-3) -> float:
    import torch
    import torch.nn.functional as F

    from mltl.models.discriminator import LanguageDiscriminator

    net = model.net
    langs = list(texts)
    feats: dict[str, tuple[list, list]] = {}
    net.eval()
    with torch.no_grad():
        for lang in langs:
            corpus = model.featurizer.encode(lang, [s for s in texts[lang] if s])
            rows = []
            for start in range(0, len(corpus), 64):
                idx = np.arange(start, min(start + 64, len(corpus)))
                b = corpus.batch(idx, with_chars=net.charcnn is not None, with_labels=False).to(model.device)
                fs = net.shared_features(b)
                rows.extend((fs[i, : int(b.lengths[i])].cpu(),) for i in range(len(idx)))
            half = len(rows) // 2
            feats[lang] = ([r[0] for r in rows[:half]], [r[0] for r in rows[half:]])
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    dim = next(iter(feats.values()))[0][0].shape[-1]
    probe = LanguageDiscriminator(dim, len(langs), dropout=0.0)
    opt = torch.optim.Adam(probe.parameters(), lr=lr)

    def pad(seqs: list) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
        lens = torch.tensor([len(s) for s in seqs])
        return x, torch.arange(x.shape[1])[None, :] < lens[:, None]

    for _ in range(steps):
        xs, ys = [], []
        for li, lang in enumerate(langs):
            train = feats[lang][0]
            for j in torch.randint(len(train), (batch_size,), generator=g).tolist():
                xs.append(train[j])
                ys.append(li)
        x, mask = pad(xs)
        loss = F.cross_entropy(probe(x, mask), torch.tensor(ys))
        opt.zero_grad()
        loss.backward()
        opt.step()
    probe.eval()
    correct = total = 0
    with torch.no_grad():
        for li, lang in enumerate(langs):
            test = feats[lang][1]
            x, mask = pad(test)
            correct += int((probe(x, mask).argmax(-1) == li).sum())
            total += len(test)
    return correct / max(total, 1)
