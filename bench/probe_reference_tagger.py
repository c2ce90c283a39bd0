"""An independent tagger in plain PyTorch, to tell a defect in mltl from its setting (issue 17).

The same model as mltl's supervised CoNLL run (``--arch bwe``: frozen aligned vectors looked
up lowercased + a CharCNN of 200 kernels of widths 3/4/5 → 128; a two-layer BiLSTM of 2 × 64;
an MLP of 128; dropout 0.5 everywhere; Adam 1e-3, weight decay 1e-8; batches of 16) built
from stock modules (``nn.LSTM`` packed, ``nn.Conv1d``, ``nn.Dropout``) on random batches,
scored on the dev set with seqeval every 500 steps. It is how the length-sorted batches of
mltl's tagging runs were found (docs/benchmarks.md, "length-sorted batches"): this model
reached dev F1 0.46 at step 1,000 where mltl's reached 0.28-0.32.

    python bench/probe_reference_tagger.py --lang es [--seed 1] [--steps 1500] [--cdrop 0]

``--data``/``--vectors``: a ``mltl prepare`` tagging directory (DATA/LANG/{train,dev}.jsonl)
and aligned vectors (VECTORS/LANG.vec); defaults: what ``bench/gold.py`` builds. Slow on
purpose (no speed work): ~270 s per 500 steps on one core. Nothing is written.
"""

import argparse
import json
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from seqeval.metrics import f1_score

ap = argparse.ArgumentParser()
ap.add_argument("--lang", default="es")
ap.add_argument("--steps", type=int, default=1500, help="dev F1 every 500 steps")
ap.add_argument("--dropout", type=float, default=0.5, help="everywhere (Appendix B)")
ap.add_argument("--char", type=int, default=1, help="0: no CharCNN")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--cdrop", type=float, default=None, help="dropout on character embeddings (default --dropout)")
ap.add_argument("--trainemb", type=int, default=0, help="1: train the word vectors too (not the paper's)")
ap.add_argument("--data", default="bench/work/gold-full/data/conll")
ap.add_argument("--vectors", default="bench/work/gold-full/vec/sets+debian-d100-mc3-e10-lc/aligned")
a = ap.parse_args()
torch.manual_seed(a.seed)
random.seed(a.seed)
torch.set_num_threads(1)


def read(s):
    return [json.loads(l) for l in open(f"{a.data}/{a.lang}/{s}.jsonl", encoding="utf8")]


tr, dv = read("train"), read("dev")
tr = [r for r in tr if r["tokens"]]
words = {"<pad>": 0, "<unk>": 1}
with open(f"{a.vectors}/{a.lang}.vec", encoding="utf8") as f:
    dim = int(f.readline().split()[1])  # fastText's header: count, dimension
    vecs = [np.zeros(dim), np.zeros(dim)]
    for line in f:
        p = line.rstrip().split(" ")
        if p[0] not in words:
            words[p[0]] = len(words)
            vecs.append(np.array(p[1:], dtype=np.float32))
E = torch.tensor(np.stack(vecs), dtype=torch.float32)
chars = {"<pad>": 0, "<unk>": 1}
for r in tr:
    for t in r["tokens"]:
        for c in t:
            chars.setdefault(c, len(chars))
labels = sorted({g for r in tr for g in r["tags"]})
L = {g: i for i, g in enumerate(labels)}


def enc(batch):
    T = max(len(r["tokens"]) for r in batch)
    B = len(batch)
    w = torch.zeros(B, T, dtype=torch.long)
    y = torch.full((B, T), -100, dtype=torch.long)
    ch = torch.zeros(B, T, 20, dtype=torch.long)
    lens = torch.tensor([len(r["tokens"]) for r in batch])
    for i, r in enumerate(batch):
        for j, t in enumerate(r["tokens"]):
            w[i, j] = words.get(t.lower(), 1)
            for k, c in enumerate(t[:20]):
                ch[i, j, k] = chars.get(c, 1)
            if "tags" in r:
                y[i, j] = L.get(r["tags"][j], L["O"])
    return w, ch, lens, y


class Net(nn.Module):
    def __init__(s):
        super().__init__()
        s.emb = nn.Embedding.from_pretrained(E, freeze=not a.trainemb)
        s.cemb = nn.Embedding(len(chars), 50, padding_idx=0)
        s.convs = nn.ModuleList(nn.Conv1d(50, 200, k, padding=k - 1) for k in (3, 4, 5))
        s.cfc = nn.Linear(600, 128)
        ind = dim + (128 if a.char else 0)
        s.drop = nn.Dropout(a.dropout)
        s.lstm = nn.LSTM(ind, 64, num_layers=2, bidirectional=True, batch_first=True, dropout=a.dropout)
        s.mlp = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Dropout(a.dropout), nn.Linear(128, len(labels)))

    def forward(s, w, ch, lens):
        x = s.emb(w)
        if a.char:
            B, T, C = ch.shape
            c = F.dropout(s.cemb(ch.view(B * T, C)), a.dropout if a.cdrop is None else a.cdrop, s.training).transpose(
                1, 2
            )
            c = torch.cat([F.relu(cv(c)).max(2).values for cv in s.convs], 1)
            x = torch.cat([x, s.cfc(s.drop(c)).view(B, T, -1)], -1)
        x = s.drop(x)
        pk = nn.utils.rnn.pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        h, _ = s.lstm(pk)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=w.shape[1])
        return s.mlp(s.drop(h))


net = Net()
opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3, weight_decay=1e-8)


def evaluate():
    net.eval()
    gold, pred = [], []
    with torch.no_grad():
        for i in range(0, len(dv), 256):
            b = [r for r in dv[i : i + 256] if r["tokens"]]
            w, ch, lens, y = enc(b)
            out = net(w, ch, lens).argmax(-1)
            for r, o in zip(b, out):
                gold.append(r["tags"])
                pred.append([labels[k] for k in o[: len(r["tags"])]])
    net.train()
    return f1_score(gold, pred)


t0 = time.time()
for step in range(1, a.steps + 1):
    w, ch, lens, y = enc(random.sample(tr, 16))
    loss = F.cross_entropy(net(w, ch, lens).reshape(-1, len(labels)), y.reshape(-1), ignore_index=-100)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 500 == 0:
        print(f"step {step} dev F1 {evaluate():.3f} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
