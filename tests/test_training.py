"""In-process training runs on a tiny synthetic world: learning, determinism,
resume equivalence, Ctrl-C, model directories, classification."""

from __future__ import annotations

import json
import os
import shutil
import signal

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from toydata import make_toy_data  # noqa: E402

from mltl import log  # noqa: E402
from mltl.config import merge  # noqa: E402
from mltl.errors import InputError  # noqa: E402
from mltl.models import load_model  # noqa: E402
from mltl.training import resume, train  # noqa: E402

TINY = {
    "char_kernels": 8,
    "char_out": 8,
    "char_emb_size": 8,
    "hidden_size": 16,
    "private_hidden_size": 16,
    "expert_hidden": 16,
    "d_kernels": 8,
    "d_hidden": 8,
    "layers": 1,
    "dropout": 0.1,
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    data, vec = make_toy_data(
        root, ["en", "es", "de"], unlabeled_only=("de",), n_concepts=30, n_train=160, n_dev=40, n_unlabeled=80
    )
    log.configure(quiet=True)
    return data, vec


@pytest.fixture(scope="module")
def toy_cls(tmp_path_factory):
    root = tmp_path_factory.mktemp("toycls")
    return make_toy_data(
        root,
        ["en", "fr", "de"],
        task="classification",
        unlabeled_only=("de",),
        n_concepts=30,
        n_train=160,
        n_dev=40,
        n_unlabeled=80,
    )


def cfg_for(toy, task="tagging", model=None, training=None, data=None):
    d, v = toy
    return merge(
        {
            "task": task,
            "data": {
                "data": str(d),
                "vectors": str(v),
                "sources": ["en", "es"] if task == "tagging" else ["en", "fr"],
                "target": "de",
                **(data or {}),
            },
            "model": {**TINY, **(model or {})},
            "training": {
                "threads": 1,
                "lr": 0.02,
                "max_epochs": 3,
                "steps_per_epoch": 4,
                "patience": 0,
                "checkpoint_every": 0,
                **(training or {}),
            },
        }
    )


def weights(path):
    return torch.load(path / "weights.pt", weights_only=True)


def same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_and_layout(toy, tmp_path):
    cfg = cfg_for(toy)
    r1 = train(cfg, tmp_path / "a")
    r2 = train(cfg, tmp_path / "b")
    for name in ("model-last", "model-best"):
        assert same_weights(weights(tmp_path / "a" / name), weights(tmp_path / "b" / name))
    other = train(cfg_for(toy, training={"seed": 2}), None)
    assert not same_weights(weights(tmp_path / "a" / "model-last"), other.model.net.state_dict())
    out = tmp_path / "a"
    assert {p.name for p in out.iterdir()} >= {
        "model-best",
        "model-last",
        "checkpoint",
        "config.json",
        "train_log.jsonl",
        "metrics.json",
    }
    m = out / "model-best"
    assert {p.name for p in m.iterdir()} == {
        "mltl-model.json",
        "config.json",
        "weights.pt",
        "labels.json",
        "chars.json",
        "vocab",
        "vectors",
        "metrics.json",
    }
    assert sorted(p.name for p in (m / "vectors").iterdir()) == ["de.npy", "en.npy", "es.npy"]
    log_lines = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert len(log_lines) == 3 and {"J_C", "J_D", "J_G1", "J_G2", "D_acc", "dev", "tokens_per_s"} <= set(log_lines[0])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["zero_resource"] is True and metrics["steps"] == 12
    assert r1.metrics["best_score"] == r2.metrics["best_score"]


def test_resume_after_ctrl_c_equals_uninterrupted(toy, tmp_path):
    cfg = cfg_for(toy)
    train(cfg, tmp_path / "full")

    def interrupt(trainer):
        if trainer.step == 6:  # mid-epoch: the checkpoint must carry sampler + RNG state
            os.kill(os.getpid(), signal.SIGINT)

    part = train(cfg, tmp_path / "part", on_step=interrupt)
    assert part.interrupted and part.steps == 6
    st = torch.load(tmp_path / "part" / "checkpoint" / "trainer.pt", weights_only=True)
    assert st["step"] == 6
    done = resume(tmp_path / "part")
    assert not done.interrupted and done.steps == 12
    assert same_weights(weights(tmp_path / "full" / "model-last"), weights(tmp_path / "part" / "model-last"))
    assert same_weights(weights(tmp_path / "full" / "model-best"), weights(tmp_path / "part" / "model-best"))


def test_a_finished_run_continued_to_more_steps_equals_the_longer_run(toy, tmp_path):
    # bench/gold.py extends a 4,000-step run to 8,000 this way instead of training again
    train(cfg_for(toy, training={"max_epochs": 5}), tmp_path / "long")
    short = train(cfg_for(toy), tmp_path / "short")
    assert not short.interrupted and short.steps == 12
    more = resume(tmp_path / "short", {"max_epochs": 5})
    assert not more.interrupted and more.steps == 20
    assert same_weights(weights(tmp_path / "long" / "model-last"), weights(tmp_path / "short" / "model-last"))
    assert same_weights(weights(tmp_path / "long" / "model-best"), weights(tmp_path / "short" / "model-best"))
    log_lines = (tmp_path / "short" / "train_log.jsonl").read_text().splitlines()
    assert len(log_lines) == 5  # one evaluation per epoch, across both processes


def test_model_dir_reloads_and_scores_identically(toy, tmp_path):
    res = train(cfg_for(toy, training={"max_epochs": 4}), tmp_path / "run")
    model = load_model(tmp_path / "run" / "model-best")
    sents = [json.loads(x) for x in (toy[0] / "en" / "dev.jsonl").read_text().splitlines()]
    pred = model.predict_batch("en", [s["tokens"] for s in sents])
    from mltl.training.metrics import span_f1

    f1_en = span_f1([s["tags"] for s in sents], [p["tags"] for p in pred])
    assert f1_en == pytest.approx(
        json.loads((tmp_path / "run" / "model-best" / "metrics.json").read_text())["dev"]["en"], abs=1e-12
    )
    # the same sentence alone or in a batch gets the same tags (packing, masks, per-batch CharCNN)
    alone = [model.predict_batch("en", [s["tokens"]])[0] for s in sents[:5]]
    assert alone == pred[:5]
    # empty sentences and gate weights
    out = model.predict_batch("de", [[], ["de" + "x"]], gates=True)
    assert out[0] == {"tags": []} and len(out[1]["gate_fp"][0]) == 2
    assert res.metrics["best_score"] == pytest.approx(
        json.loads((tmp_path / "run" / "metrics.json").read_text())["best_score"]
    )


def test_load_model_errors(toy, tmp_path):
    train(cfg_for(toy, training={"max_epochs": 1}), tmp_path / "run")
    good = tmp_path / "run" / "model-last"
    for broken, action, needle in [
        ("nolabels", lambda d: (d / "labels.json").unlink(), "labels.json"),
        ("trunc", lambda d: (d / "weights.pt").write_bytes((d / "weights.pt").read_bytes()[:100]), "weights.pt"),
        ("vectors", lambda d: (d / "vectors" / "de.npy").write_bytes(b"\x93NUMPY"), "de.npy"),
        (
            "version",
            lambda d: (d / "mltl-model.json").write_text(
                json.dumps({**json.loads((d / "mltl-model.json").read_text()), "mltl_version": "0.0.1"})
            ),
            "0.0.1",
        ),
    ]:
        d = tmp_path / broken
        shutil.copytree(good, d)
        action(d)
        with pytest.raises(InputError, match=needle):
            load_model(d)
    with pytest.raises(InputError, match="no such model directory"):
        load_model(tmp_path / "nothing")


def test_learns_and_gates_predict_source_language(toy):
    res = train(
        cfg_for(toy, model={"dropout": 0.0}, training={"max_epochs": 12, "steps_per_epoch": 10, "lambda2": 0.1}), None
    )
    hist = res.history
    assert hist[-1]["J_C"] < hist[0]["J_C"] / 3  # loss decreases
    assert res.metrics["best_score"] > 0.6  # all-O baseline scores 0
    model = res.model
    for i, lang in enumerate(model.sources):
        sents = [json.loads(x)["tokens"] for x in (toy[0] / lang / "dev.jsonl").read_text().splitlines()]
        g = np.concatenate([np.array(p["gate_fp"]) for p in model.predict_batch(lang, sents, gates=True)])
        assert g.mean(0)[i] > 0.6, (lang, g.mean(0))  # 2 experts: chance is 0.5


def test_bad_inputs_leave_nothing_behind(toy, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(InputError, match="also a source"):
        train(cfg_for(toy, data={"sources": ["en", "de"]}), out)
    with pytest.raises(InputError, match="xx/train.jsonl"):
        train(cfg_for(toy, data={"sources": ["en", "xx"]}), out)
    assert not out.exists()
    train(cfg_for(toy, training={"max_steps": 1}), out)
    with pytest.raises(InputError, match="--force"):
        train(cfg_for(toy, training={"max_steps": 1}), out)


def test_differing_label_sets_union_or_strict(toy, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(toy[0], d)
    lines = [json.loads(x) for x in (d / "es" / "train.jsonl").read_text().splitlines()]
    for rec in lines:
        rec["tags"] = ["O" if t.endswith("ORG") else t for t in rec["tags"]]
    (d / "es" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (d / "es" / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines[:20]))
    with pytest.raises(InputError, match="label sets differ"):
        train(cfg_for((d, toy[1]), data={"strict_labels": True}), None)
    res = train(cfg_for((d, toy[1]), training={"max_steps": 2}), None)
    assert "B-ORG" in res.model.labels


def test_ablations_train(toy):
    # Each ablation builds the network the paper's ablation describes (Table 2/3 rows) and trains it.
    want = {  # flags -> (CharCNN, Fp + its MoE, MoE in C, D)
        (("arch", "bwe"),): (True, False, False, False),
        (("arch", "man"),): (True, False, False, True),
        (("fp_moe", False),): (True, False, True, True),
        (("c_moe", False),): (True, True, False, True),
        (("adversary", False), ("char_cnn", False)): (False, True, True, False),
    }
    for flags, (char, fp, c_moe, d) in want.items():
        res = train(cfg_for(toy, model=dict(flags), training={"max_steps": 2}), None)
        net = res.model.net
        got = (
            net.charcnn is not None,
            net.fp_moe is not None,
            net.head.pred.moe is not None,
            net.discriminator is not None,
        )
        assert got == (char, fp, c_moe, d), flags
        assert res.steps == 2 and (res.history[-1]["D_acc"] is not None) == d, flags
        assert all(torch.isfinite(p).all() for p in net.parameters())
    # Algorithm 1 as written: separate D batches, k > 1
    res = train(cfg_for(toy, training={"max_steps": 2, "share_d_batches": False, "k": 2}), None)
    assert res.steps == 2 and res.history[-1]["D_acc"] is not None


def test_target_dev_marks_not_zero_resource(toy, tmp_path):
    res = train(
        cfg_for(toy, data={"target_dev": str(toy[0] / "de" / "dev.jsonl")}, training={"max_epochs": 1}), tmp_path / "r"
    )
    assert res.metrics["zero_resource"] is False and "target" in res.metrics["dev"]
    assert "NOT zero-resource" in res.metrics["selection"]


def test_target_train_is_trained_on_and_marked_not_zero_resource(toy, tmp_path):
    # Issue 19: a few labeled target sentences join the sources' C loss (no gate loss: the
    # target has no expert); selection stays on source dev unless --target-dev is given.
    base = {"max_steps": 3, "max_epochs": 1, "steps_per_epoch": 3}
    zero = train(cfg_for(toy, training=base), None)
    few = train(cfg_for(toy, data={"target_train": str(toy[0] / "de" / "dev.jsonl")}, training=base), None)
    assert zero.metrics["zero_resource"] is True and zero.metrics["target_train"] == 0
    assert few.metrics["zero_resource"] is False and few.metrics["target_train"] == 40
    assert few.metrics["selection"] == "mean source dev"
    # the target's sentences changed what was learned (same seed, same source batches otherwise)
    assert few.history[-1]["J_C"] != zero.history[-1]["J_C"]
    # a directory from `mltl prepare` works too; its language and labels are checked
    with pytest.raises(InputError, match="target training data is 'en' text, the target is 'de'"):
        train(cfg_for(toy, data={"target_train": str(toy[0] / "en")}, training=base), None)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"tokens": ["a", "b"], "tags": ["B-MONEY", "O"]}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="labels not seen in any source: B-MONEY") as exc:
        train(cfg_for(toy, data={"target_train": str(bad)}, training=base), None)
    assert "bad.jsonl" in str(exc.value)


def test_init_model_starts_from_its_weights(toy, tmp_path):
    # Issue 19: a labeling round fine-tunes the previous model (--init-model) instead of
    # training from scratch. With lr 0 the run's weights stay the starting model's exactly.
    base = {"max_steps": 2, "max_epochs": 1, "steps_per_epoch": 2}
    train(cfg_for(toy, training=base), tmp_path / "zero")
    start = load_model(tmp_path / "zero" / "model-last")
    cfg = cfg_for(
        toy,
        data={"target_train": str(toy[0] / "de" / "dev.jsonl"), "vectors": None},  # its vectors come with it
        training={**base, "init_model": str(tmp_path / "zero" / "model-last"), "lr": 0.0, "d_lr": 0.0},
    )
    res = train(cfg, tmp_path / "round1")
    after = load_model(tmp_path / "round1" / "model-last")
    a, b = start.net.state_dict(), after.net.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert res.metrics["target_train"] == 40
    sents = [["dekalo1", "dezo2"], ["dedu3"]]
    assert after.predict_batch("de", sents) == start.predict_batch("de", sents)
    # the experts must be the same sources
    bad = cfg_for(
        toy, training={**base, "init_model": str(tmp_path / "zero" / "model-last")}, data={"sources": ["es", "en"]}
    )
    with pytest.raises(InputError, match="--init-model has the source experts en,es; this run's sources are es,en"):
        train(bad, None)


def test_classification_end_to_end(toy_cls, tmp_path):
    res = train(
        cfg_for(
            toy_cls, task="classification", model={"dropout": 0.0}, training={"max_epochs": 6, "steps_per_epoch": 10}
        ),
        tmp_path / "cls",
    )
    assert res.history[-1]["J_C"] < res.history[0]["J_C"]
    assert res.metrics["best_score"] > 0.7
    model = load_model(tmp_path / "cls" / "model-best")
    out = model.predict_batch("de", [["de" + "x", "y"]], gates=True)
    assert out[0]["label"] in ("neg", "pos") and abs(sum(out[0]["probs"].values()) - 1) < 1e-5
    assert len(out[0]["gate_c"]) == 2


def test_run_data_holds_only_the_vectors_rows_it_needs(toy, tmp_path):
    # Issue 21: a run reads a 2,000,000-word .vec for the few thousand words of its data. Rows
    # padded after the real ones (one of them not even numbers) change nothing: they are neither
    # parsed nor kept, and the run's tables equal those from the unpadded files.
    from mltl.training.data import load_run_data

    d, v = toy
    big = tmp_path / "vec"
    big.mkdir()
    for lang in ("en", "es", "de"):
        head, *rows = (v / f"{lang}.vec").read_text(encoding="utf-8").splitlines()
        n, dim = map(int, head.split())
        pad = [f"filler{i} " + " ".join(["0.5"] * dim) for i in range(3000)] + ["garbage " + "x " * (dim - 1) + "x"]
        (big / f"{lang}.vec").write_text(f"{n + len(pad)} {dim}\n" + "\n".join(rows + pad) + "\n", encoding="utf-8")
    want = load_run_data(cfg_for(toy, data={"keep_vectors": 5}))
    got = load_run_data(cfg_for(toy, data={"keep_vectors": 5, "vectors": str(big)}))
    assert got.featurizer.vocabs == want.featurizer.vocabs
    assert not any(w.startswith("filler") for w in got.featurizer.vocabs["en"])
    for lang in ("en", "es", "de"):
        assert np.array_equal(got.vectors[lang], want.vectors[lang])


def test_threads_option_is_restored_after_training(toy):
    # A notebook user's torch thread setting survives `train(..., threads=1)`.
    before = torch.get_num_threads()
    want = 1 if before != 1 else 2
    train(cfg_for(toy, training={"max_steps": 1, "threads": want}), None)
    assert torch.get_num_threads() == before


def test_length_buckets_random_or_sorted_batches():
    """``length_buckets=1``: batches mix sentence lengths (tagging's default, so a short
    sentence does not weigh as much as a batch of long ones in the token-mean loss);
    ``50``: batches of near-equal length (classification's, less padding)."""
    from mltl.training.sampler import BucketSampler

    lengths = np.random.default_rng(0).integers(1, 60, size=4000)

    def spread(bucket: int) -> float:
        s = BucketSampler(lengths, 16, [1, 0, 0], bucket)
        batches = [s.next() for _ in range(4000 // 16)]
        assert sorted(np.concatenate(batches).tolist()) == list(range(4000))  # one pass, each once
        return float(np.mean([np.ptp(lengths[b]) for b in batches]))

    assert spread(1) > 40  # random batches: near the full range (1-59) in every batch
    assert spread(50) < 5  # sorted chunks: near-equal lengths
    with pytest.raises(InputError, match="length_buckets"):
        merge({"training": {"length_buckets": 0}})


def test_config_saved_before_length_buckets_resumes_sorted():
    """A run's config.json from before ``training.length_buckets`` existed resumes with the
    length-sorted batches (50) it was trained with; a new tagging config draws random ones."""
    from mltl.config import config_from_json

    cfg = merge({})
    d = json.loads(cfg.to_json())
    assert d["training"]["length_buckets"] == 1
    del d["training"]["length_buckets"]
    assert config_from_json(json.dumps(d)).training.length_buckets == 50
    # and one from before ``training.adversary_chars`` let D's gradient reach the CharCNN
    assert not d["training"]["adversary_chars"]
    del d["training"]["adversary_chars"]
    assert config_from_json(json.dumps(d)).training.adversary_chars


def test_adversary_trains_fs_not_the_characters_only_the_target_has(tmp_path):
    """−λ1·J_D reaches Fs but not the CharCNN: a character only the unlabeled target text has
    ('h', 'y' of the toy target "hy") keeps its initial embedding, as without D, instead of
    being moved by Adam at the full learning rate to fool D (TrainingConfig.adversary_chars)."""
    toy = make_toy_data(tmp_path, ["en", "es", "hy"], unlabeled_only=("hy",), n_concepts=30, n_train=80, n_unlabeled=80)

    def char_rows(model=None, training=None):
        training = {"max_steps": 6, "weight_decay": 0.0, "lambda1": 0.1, **(training or {})}
        m = train(cfg_for(toy, data={"target": "hy"}, model=model, training=training), None).model
        ids = {c: i for i, c in enumerate(m.featurizer.chars)}
        return m.net.charcnn.emb.weight.detach(), ids

    rows, ids = char_rows()
    rows_no_d, _ = char_rows(model={"adversary": False})  # −MAN: the same initial weights
    rows_d_chars, _ = char_rows(training={"adversary_chars": True})
    only_target = [ids["h"], ids["y"]]
    assert torch.equal(rows[only_target], rows_no_d[only_target])
    assert not torch.equal(rows_d_chars[only_target], rows_no_d[only_target])
    shared = ids["k"]  # in every language's words: trained by the task
    assert not torch.equal(rows[shared], rows_no_d[shared])
