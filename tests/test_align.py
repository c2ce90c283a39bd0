"""Alignment maths on cases with known answers: Procrustes, CSLS, self-learning, BLI."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reference import csls_dense  # noqa: E402

from mltl.embeddings import Vectors, normalize  # noqa: E402
from mltl.embeddings.align import AlignConfig, align, unsupervised_seed  # noqa: E402
from mltl.embeddings.bli import evaluate_bli  # noqa: E402
from mltl.embeddings.dictionary import identical_seed, read_dictionary, to_indices  # noqa: E402
from mltl.embeddings.mapping import orthogonality_error, procrustes, random_rotation  # noqa: E402
from mltl.embeddings.similarity import induce, induce_exact, pairs_from, search, topk_mean  # noqa: E402
from mltl.errors import InputError  # noqa: E402

MAN_EN = sorted(glob.glob("/usr/share/man/man1/*.1.gz"))


@pytest.fixture(scope="module")
def real_vectors(tmp_path_factory) -> Vectors:
    """Small real fastText vectors trained on English man pages (a few seconds)."""
    pytest.importorskip("fasttext")
    if len(MAN_EN) < 80:
        pytest.skip("English man pages (Debian 'manpages') not installed")
    from mltl.embeddings.train import EmbedConfig, TextInput, train_embeddings

    out = tmp_path_factory.mktemp("vec") / "en"
    cfg = EmbedConfig(dim=40, min_count=3, epoch=5, bucket=20000, threads=1)
    train_embeddings(MAN_EN[:120], out, "en", cfg, TextInput(tokenizer="whitespace", fmt="roff"), write_vec=False)
    from mltl.embeddings import load_vectors

    v = load_vectors(str(out) + ".bin")
    assert len(v) > 1500
    return v


def _rotated_copy(v: Vectors, seed: int = 3, noise: float = 0.0, prefix: str = "") -> tuple[Vectors, np.ndarray]:
    R = random_rotation(v.dim, seed)
    m = np.asarray(v.matrix) @ R
    if noise:
        m = m + noise * np.random.default_rng(seed).standard_normal(m.shape).astype(np.float32)
    return Vectors([prefix + w for w in v.words], m.astype(np.float32)), R


# ------------------------------------------------------------------ Procrustes


def test_procrustes_recovers_rotation_exactly():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 64)).astype(np.float32)
    R = random_rotation(64, 1)
    W = procrustes(X, X @ R)
    assert orthogonality_error(W) < 1e-5
    np.testing.assert_allclose(W, R, atol=1e-4)


def test_procrustes_is_orthogonal_under_noise_and_rejects_bad_shapes():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((50, 20)), rng.standard_normal((50, 20))
    W = procrustes(X, Y)
    assert orthogonality_error(W) < 1e-5
    # Optimal among orthogonal maps: no random rotation does better.
    best = np.linalg.norm(X @ W - Y)
    for s in range(20):
        assert best <= np.linalg.norm(X @ random_rotation(20, s) - Y) + 1e-6
    with pytest.raises(ValueError):
        procrustes(X, Y[:10])


# ----------------------------------------------------------------------- CSLS


def _unit(m):
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_chunked_csls_matches_dense_reference():
    rng = np.random.default_rng(2)
    X = _unit(rng.standard_normal((130, 16))).astype(np.float32)
    Z = _unit(rng.standard_normal((170, 16))).astype(np.float32)
    dense = csls_dense(X, Z, k=5)
    Xt, Zt = torch.from_numpy(X), torch.from_numpy(Z)
    budget = 7 * 170  # force many chunks
    r_z = topk_mean(Zt, Xt, k=5, budget=budget).numpy()
    r_x = topk_mean(Xt, Zt, k=5, budget=budget).numpy()
    np.testing.assert_allclose(r_z, -np.sort(-(X @ Z.T), axis=0)[:5].mean(axis=0), atol=1e-5)
    _, idx = search(Xt, Zt, k=3, method="csls", r_T=torch.from_numpy(r_z), budget=budget)
    np.testing.assert_array_equal(idx.numpy(), np.argsort(-dense, axis=1)[:, :3])
    res = induce_exact(Xt, Zt, csls_k=5, budget=budget)
    np.testing.assert_array_equal(res["fwd"].numpy(), dense.argmax(axis=1))
    np.testing.assert_array_equal(res["bwd"].numpy(), dense.argmax(axis=0))
    np.testing.assert_allclose(res["r_x"].numpy(), r_x, atol=1e-5)
    si, ti, _ = pairs_from(res, "mutual")
    for i, j in zip(si, ti):
        assert dense[i].argmax() == j and dense[:, j].argmax() == i


def test_bf16_shortlist_gives_the_exact_neighbours_and_scores():
    # The bf16 path (auto on CPUs with native bf16) must return the fp32 answer:
    # it only shortlists in bf16 and rescores exactly. Forced here on any CPU.
    rng = np.random.default_rng(5)
    base = rng.standard_normal((6000, 48)).astype(np.float32)
    Z = _unit(base)
    X = _unit(base[:400] + 0.4 * rng.standard_normal((400, 48)).astype(np.float32))
    Xt, Zt = torch.from_numpy(X), torch.from_numpy(Z)
    exact = topk_mean(Xt, Zt, k=10, fast=False)
    np.testing.assert_allclose(topk_mean(Xt, Zt, k=10, fast=True).numpy(), exact.numpy(), atol=1e-6)
    r_z = topk_mean(Zt, Xt, k=10, fast=False)
    for method, kw in (("nn", {}), ("csls", {"r_T": r_z})):
        v0, i0 = search(Xt, Zt, k=20, method=method, fast=False, **kw)
        v1, i1 = search(Xt, Zt, k=20, method=method, fast=True, **kw)
        np.testing.assert_allclose(v1.numpy(), v0.numpy(), atol=1e-6)  # the same top-k scores
        # the same rows, up to the order of scores tied within float rounding
        assert (i1.numpy() == i0.numpy()).mean() > 0.999


def test_csls_penalises_hubs():
    """A 'hub' target near every query wins plain NN retrieval but not CSLS."""
    rng = np.random.default_rng(4)
    d, n = 32, 60
    c = _unit(rng.standard_normal((1, d)))  # a direction every query leans towards
    Q = _unit(c + 0.8 * _unit(rng.standard_normal((n, d))))
    true = _unit(Q + 0.8 * _unit(rng.standard_normal((n, d))))  # each query's real translation
    T = np.vstack([true, c]).astype(np.float32)  # the last target is the hub
    Qt, Tt = torch.from_numpy(Q.astype(np.float32)), torch.from_numpy(T)
    _, nn = search(Qt, Tt, k=1, method="nn")
    r_t = topk_mean(Tt, Qt, k=10)
    _, cs = search(Qt, Tt, k=1, method="csls", r_T=r_t)
    hub_id = n
    assert (nn[:, 0] == hub_id).sum() > n // 3  # NN is dominated by the hub
    assert (cs[:, 0] == hub_id).sum() < (nn[:, 0] == hub_id).sum() // 3
    assert (cs[:, 0] == torch.arange(n)).sum() > (nn[:, 0] == torch.arange(n)).sum()
    assert r_t[hub_id] == r_t.max()  # the hub has the highest r


def test_stochastic_induction_drops_entries():
    rng = np.random.default_rng(5)
    X = torch.from_numpy(_unit(rng.standard_normal((200, 8))).astype(np.float32))
    full = induce(X, X)
    assert (full["fwd"] == torch.arange(200)).all()  # itself is the nearest
    g = torch.Generator().manual_seed(0)
    dropped = induce(X, X, keep_prob=0.1, generator=g)
    assert (dropped["fwd"] != torch.arange(200)).sum() > 100  # ~90% of diagonals dropped


# ------------------------------------------------------------- self-learning


def test_identical_strings_route_recovers_rotation(real_vectors):
    tgt, R = _rotated_copy(real_vectors, seed=7)
    si, ti = identical_seed(real_vectors.words, tgt.words)
    assert len(si) == len(real_vectors)
    out, rep = align({"xx": real_vectors, "en": tgt}, hub="en", method="identical")
    pr = rep["pairs"][0]
    assert pr["orthogonality_error"] < 1e-4
    # Mapped vectors coincide with the hub's normalised copy word by word.
    np.testing.assert_allclose(out["xx"].matrix, out["en"].matrix, atol=2e-3)
    W = rep["mappings"]["xx"]
    np.testing.assert_allclose(W, R, atol=2e-3)  # centring commutes with rotation


def test_unsupervised_recovers_rotation_of_real_vectors(real_vectors):
    """No dictionary, no shared strings: the target words are renamed."""
    v = real_vectors.subset(2500)
    tgt, R = _rotated_copy(v, seed=11, noise=0.002, prefix="t_")
    cfg = AlignConfig(
        unsup_vocab=1500, stochastic_vocab=2000, refine_vocab=2500, stochastic_patience=2, method="supervised"
    )
    out, rep = align({"xx": v, "en": tgt}, hub="en", method="unsupervised", config=cfg)
    assert cfg.method == "supervised"  # the caller's config is not changed
    pr = rep["pairs"][0]
    assert pr["method"] == "unsupervised" and pr["seed_pairs"] > 0
    assert len(pr["objective"]) == pr["iterations"] == len(pr["dictionary_sizes"])
    acc = (np.argmax(out["xx"].matrix[:1000] @ out["en"].matrix.T, axis=1) == np.arange(1000)).mean()
    assert acc > 0.95, acc


def test_unsupervised_seed_is_rotation_invariant(real_vectors):
    X = torch.from_numpy(normalize(real_vectors.matrix[:1000]))
    Z = X @ torch.from_numpy(random_rotation(real_vectors.dim, 5))
    si, ti = unsupervised_seed(X, Z, n=1000)
    assert (si == ti).mean() > 0.5  # most seed pairs are the correct ones, with no signal but geometry


def test_supervised_uses_dictionary_and_reports(real_vectors, tmp_path):
    tgt, R = _rotated_copy(real_vectors.subset(1500), seed=2, prefix="t_")
    src = real_vectors.subset(1500)
    pairs = [(w, "t_" + w) for w in src.words[10:410]] + [("nope", "t_nope")]
    out, rep = align(
        {"xx": src, "en": tgt},
        hub="en",
        method="supervised",
        dicts={"xx": pairs},
        config=AlignConfig(refine_vocab=1500),
    )
    assert rep["pairs"][0]["seed_pairs"] == 400
    np.testing.assert_allclose(rep["mappings"]["xx"], R, atol=5e-3)
    with pytest.raises(InputError, match="0 of 2 pairs"):
        to_indices([("a", "b"), ("c", "d")], src.index, tgt.index, path="x.txt")


def test_align_rejects_bad_setups(real_vectors):
    small = real_vectors.subset(100)
    other = Vectors(small.words, np.ones((100, 7), dtype=np.float32))
    with pytest.raises(InputError, match="hub language 'en'"):
        align({"de": small, "fr": small}, hub="en")
    with pytest.raises(InputError, match="dimension 7"):
        align({"en": small, "de": other}, hub="en")
    with pytest.raises(InputError, match="unknown alignment method"):
        align({"en": small, "de": small}, hub="en", method="magic")
    with pytest.raises(InputError, match="needs a dictionary"):
        align({"en": small, "de": small}, hub="en", method="supervised")


# ------------------------------------------------------------------------ BLI


def test_bli_counts_match_hand_checked_case(tmp_path):
    # 2-D unit vectors at known angles. Targets: t0 at 0°, t1 at 90°, t2 at 180°, t3 at 45°.
    def at(deg):
        a = np.deg2rad(deg)
        return [np.cos(a), np.sin(a)]

    tgt = Vectors(["t0", "t1", "t2", "t3"], np.array([at(0), at(90), at(180), at(45)], dtype=np.float32))
    # s0 at 10° -> NN order t0, t3, t1, t2; s1 at 80° -> t1, t3, t0; s2 at 170° -> t2, t1, t3.
    src = Vectors(["s0", "s1", "s2", "s9"], np.array([at(10), at(80), at(170), at(300)], dtype=np.float32))
    d = tmp_path / "d.txt"
    # s0 correct at 1; s1 correct only at 2 (gold t3); s2 has two golds, one at rank 3;
    # s9 gold not in target vocab; 'zz' not in source vocab.
    d.write_text("s0 t0\ns1 t3\ns2 t3\ns2 t9\ns9 t9\nzz t0\n", encoding="utf-8")
    pairs = read_dictionary(d)
    res = evaluate_bli(src, tgt, pairs, ks=(1, 2, 3), methods=("nn",))
    assert res["queries"] == 3 and res["pairs_total"] == 6 and res["pairs_in_vocab"] == 3
    assert res["source_words_in_dictionary"] == 5 and res["coverage"] == 60.0
    assert res["nn"] == {"p@1": round(100 / 3, 2), "p@2": round(200 / 3, 2), "p@3": 100.0}


def test_bli_csls_exact_mode_matches_dense_and_default_is_close():
    rng = np.random.default_rng(8)
    S = rng.standard_normal((300, 20)).astype(np.float32)
    T = np.vstack([S + 0.8 * rng.standard_normal((300, 20)), rng.standard_normal((100, 20))]).astype(np.float32)
    src = Vectors([f"s{i}" for i in range(300)], S)
    tgt = Vectors([f"t{i}" for i in range(400)], T)
    pairs = [(f"s{i}", f"t{i}") for i in range(0, 300, 2)]
    res = evaluate_bli(src, tgt, pairs, csls_pool=None, csls_candidates=None)
    dense = csls_dense(_unit(S), _unit(T))
    top = np.argsort(-dense, axis=1)
    for k in (1, 5, 10):
        expect = 100 * np.mean([i in top[i, :k] for i in range(0, 300, 2)])
        assert res["csls"][f"p@{k}"] == pytest.approx(expect, abs=0.01)
    approx = evaluate_bli(src, tgt, pairs, csls_pool=200, csls_candidates=20)
    assert abs(approx["csls"]["p@1"] - res["csls"]["p@1"]) <= 3
    with pytest.raises(InputError, match="0 of 1 dictionary pairs"):
        evaluate_bli(src, tgt, [("x", "y")])


@pytest.mark.skipif(
    not os.path.exists("/usr/share/dictd/freedict-eng-spa.index"), reason="dict-freedict-eng-spa not installed"
)
def test_read_real_dictionary_after_conversion(tmp_path):
    from mltl.embeddings.freedict import convert

    res = convert("/usr/share/dictd/freedict-eng-spa.index", tmp_path, n_test=300, n_train=None)
    train = read_dictionary(res["train"])
    test = read_dictionary(res["test"])
    assert {s for s, _ in train}.isdisjoint({s for s, _ in test})
    assert ("dog", "perro") in train + test
