"""Unit tests of the MAN-MoE building blocks: gating maths, shapes, masks, ablations."""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")

from mltl.config import TASK_DEFAULTS, load_toml, merge, parse_set  # noqa: E402
from mltl.errors import InputError  # noqa: E402
from mltl.models.charcnn import CharCNN  # noqa: E402
from mltl.models.encoders import BiLSTMEncoder, CNNEncoder  # noqa: E402
from mltl.models.man_moe import Batch, ManMoE, count_parameters  # noqa: E402
from mltl.models.moe import MixtureOfExperts, gate_nll, gate_weights, mix_expert_log_probs, mix_experts  # noqa: E402
from mltl.registry import get_encoder, get_head, get_task, register_head  # noqa: E402
from mltl.training.metrics import get_spans, span_f1, span_prf  # noqa: E402

torch.set_num_threads(1)


# ------------------------------------------------------------------ gating maths
def test_gate_weights_are_a_distribution():
    logits = torch.randn(7, 3)
    a = gate_weights(logits)
    assert torch.allclose(a.sum(-1), torch.ones(7))
    assert (a > 0).all()


def test_mix_experts_is_convex_combination():
    e = torch.randn(3, 5, 4)
    alpha = gate_weights(torch.randn(5, 3))
    manual = sum(alpha[:, i : i + 1] * e[i] for i in range(3))
    assert torch.allclose(mix_experts(e, alpha), manual, atol=1e-6)
    # one-hot gate selects one expert
    onehot = torch.zeros(5, 3)
    onehot[:, 1] = 1
    assert torch.allclose(mix_experts(e, onehot), e[1])


def test_mix_expert_log_probs_mixes_probabilities():
    e = torch.randn(3, 6, 5)
    logits = torch.randn(6, 3)
    lp = mix_expert_log_probs(torch.log_softmax(e, -1), logits)
    alpha = torch.softmax(logits, -1)
    manual = torch.log(sum(alpha[:, i : i + 1] * torch.softmax(e[i], -1) for i in range(3)))
    assert torch.allclose(lp, manual, atol=1e-5)
    assert torch.allclose(lp.exp().sum(-1), torch.ones(6), atol=1e-5)


def test_gate_nll_token_level_and_mask():
    logits = torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    expected = -torch.log_softmax(logits, -1)[..., 2][mask].mean()
    assert torch.allclose(gate_nll(logits, 2, mask), expected)
    # a perfect gate has ~0 loss
    perfect = torch.full((1, 3, 3), -30.0)
    perfect[..., 0] = 30
    assert gate_nll(perfect, 0) < 1e-6


def test_moe_matches_separate_experts():
    torch.manual_seed(0)
    moe = MixtureOfExperts(6, 5, 4, n_experts=3, last_activation="tanh", dropout=0.0)
    x = torch.randn(2, 7, 6)
    out, logits = moe(x)
    assert out.shape == (2, 7, 4) and logits.shape == (2, 7, 3)
    flat = x.reshape(-1, 6)
    manual = []
    for i in range(3):
        h = torch.relu(flat @ moe.w1[i] + moe.b1[i])
        manual.append(torch.tanh(h @ moe.w2[i] + moe.b2[i]))
    alpha = torch.softmax(moe.gate(flat), -1)
    ref = sum(alpha[:, i : i + 1] * manual[i] for i in range(3))
    assert torch.allclose(out.reshape(-1, 4), ref, atol=1e-6)
    assert out.abs().max() <= 1  # tanh experts, convex mix


def test_detach_gate_stops_gradient_into_features():
    moe = MixtureOfExperts(4, 4, 4, 2, detach_gate=True, dropout=0.0)
    x = torch.randn(3, 4, requires_grad=True)
    _, logits = moe(x)
    logits.sum().backward()
    assert x.grad is None or torch.count_nonzero(x.grad) == 0


@pytest.mark.parametrize("log_probs", [False, True])
def test_moe_on_real_tokens_equals_padded(log_probs):
    # Issue 25: the MoE runs on the mask's positions only; values (and gradients) at
    # real tokens are those of the padded computation, padding gets 0.
    torch.manual_seed(0)
    moe = MixtureOfExperts(6, 5, 4, n_experts=3, last_activation="none" if log_probs else "tanh", dropout=0.0)
    x = torch.randn(3, 7, 6, requires_grad=True)
    mask = torch.arange(7)[None, :] < torch.tensor([7, 2, 4])[:, None]
    fn = moe.forward_log_probs if log_probs else moe.forward
    full_out, full_g = fn(x)
    (g_full,) = torch.autograd.grad((full_out[mask].sum() + full_g[mask].pow(2).sum()), x)
    out, g = fn(x, mask)
    assert torch.allclose(out[mask], full_out[mask], atol=1e-6) and torch.allclose(g[mask], full_g[mask], atol=1e-6)
    assert (out[~mask] == 0).all() and (g[~mask] == 0).all()
    (g_packed,) = torch.autograd.grad(out[mask].sum() + g[mask].pow(2).sum(), x)
    assert torch.allclose(g_packed, g_full, atol=1e-6)


def test_discriminator_in_length_sorted_groups_equals_one_call():
    # Issues 25/17: D runs on the rows sorted by length, one group per language block,
    # each cut to its own longest sentence; logits come back in the input's row order.
    net = _net().eval()
    fs = torch.randn(7, 9, 10, requires_grad=True)
    mask = torch.arange(9)[None, :] < torch.tensor([2, 9, 1, 3, 8, 5, 4])[:, None]
    one_by_one = torch.cat([net.discriminate(fs[i : i + 1], mask[i : i + 1]) for i in range(7)])
    whole = net.discriminate(fs, mask)
    for rows in ([2, 5], [3, 3, 1], [1, 1, 1, 1, 1, 1, 1]):
        groups = net.discriminate(fs, mask, rows)
        assert torch.allclose(groups, one_by_one, atol=1e-5) and torch.allclose(whole, groups, atol=1e-5)
        (g1,) = torch.autograd.grad(whole.pow(2).sum(), fs, retain_graph=True)
        (g2,) = torch.autograd.grad(groups.pow(2).sum(), fs)
        assert torch.allclose(g1, g2, atol=1e-5)


# ------------------------------------------------------------------ padding invariance
def test_charcnn_independent_of_batch_padding():
    torch.manual_seed(0)
    cnn = CharCNN(20, emb_size=4, kernels=6, out_dim=5, dropout=0.0).eval()
    word = torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0, 0]])
    short = word[:, :3]
    assert torch.allclose(cnn.embed_types(word), cnn.embed_types(short), atol=1e-6)
    one_char = torch.tensor([[7, 0, 0, 0, 0, 0, 0]])
    assert torch.allclose(cnn.embed_types(one_char), cnn.embed_types(one_char[:, :1]), atol=1e-6)
    idx = torch.tensor([[0, 0], [0, 0]])
    assert cnn(word, idx).shape == (2, 2, 5)


def test_charcnn_lookup_equals_convolution():
    # Issue 25: the CharCNN as table lookups + segment max equals Conv1d + masked
    # max-pool, values and gradients (no dropout), on words of 1-9 chars, a word
    # with repeated windows (a tie in the max) and a word without characters.
    torch.manual_seed(0)
    cnn = CharCNN(30, emb_size=6, kernels=7, out_dim=5, dropout=0.0)
    words = [[random.Random(i).randrange(1, 30) for _ in range(1 + i % 9)] for i in range(40)]
    words += [[5] * 8, []]
    chars = torch.zeros(len(words), 9, dtype=torch.long)
    for i, w in enumerate(words):
        chars[i, : len(w)] = torch.tensor(w, dtype=torch.long)
    ref = cnn.embed_types_conv(chars)
    out = cnn.embed_types(chars)
    assert torch.allclose(out, ref, atol=1e-5)
    grads = []
    for fn in (cnn.embed_types_conv, cnn.embed_types):
        cnn.zero_grad()
        fn(chars[:-2]).pow(2).sum().backward()  # ties split their gradient differently
        grads.append([p.grad.clone() for p in cnn.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-4)
    assert cnn.emb.weight.grad[0].abs().sum() == 0  # padding row: no gradient


def test_bilstm_and_cnn_independent_of_padding():
    torch.manual_seed(0)
    lstm = BiLSTMEncoder(4, 6, 2, dropout=0.0).eval()
    cnn = CNNEncoder(6, 5, (3, 4, 5)).eval()
    x = torch.randn(1, 3, 4)
    padded = torch.cat([x, torch.randn(1, 5, 4)], 1)
    a = lstm(x, torch.tensor([3]))
    b = lstm(padded, torch.tensor([3]))[:, :3]
    assert torch.allclose(a, b, atol=1e-6)
    mask_a = torch.ones(1, 3, dtype=torch.bool)
    mask_b = torch.tensor([[True] * 3 + [False] * 5])
    pa = cnn(a, mask_a)
    pb = cnn(torch.cat([a, torch.randn(1, 5, 6)], 1), mask_b)
    assert torch.allclose(pa, pb, atol=1e-6)


def test_conv_token_encoder_independent_of_padding():
    from mltl.models.encoders import ConvEncoder

    torch.manual_seed(0)
    enc = ConvEncoder(4, 6, 2, dropout=0.0).eval()
    x = torch.randn(1, 3, 4)
    a = enc(x, torch.tensor([3]))
    b = enc(torch.cat([x, torch.randn(1, 5, 4)], 1), torch.tensor([3]))
    assert a.shape == (1, 3, 6) and torch.allclose(a, b[:, :3], atol=1e-6) and (b[:, 3:] == 0).all()


@pytest.mark.parametrize("padding", [0, 2, 4])
def test_unfolded_conv_equals_conv1d(padding):
    # The CUDA path of CharCNN and D (conv as a matmul over windows): same values and
    # gradients as nn.Conv1d, checked here on CPU where both run.
    from mltl.models.conv import conv1d_unfolded

    torch.manual_seed(0)
    conv = torch.nn.Conv1d(7, 5, 3 + padding // 2, padding=padding).double()
    x = torch.randn(4, 7, 9, dtype=torch.double, requires_grad=True)
    ref = conv(x)
    out = conv1d_unfolded(x, conv)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-12)
    g = torch.randn_like(ref)
    grads_ref = torch.autograd.grad(ref, (x, conv.weight, conv.bias), g)
    grads = torch.autograd.grad(out, (x, conv.weight, conv.bias), g)
    for a, b in zip(grads, grads_ref):
        assert torch.allclose(a, b, atol=1e-12)


def test_char_lowercase_per_language():
    # --char-lowercase LANGS lowercases the characters of some languages only (--lowercase-chars:
    # all); the vocabulary keeps the capitals the other languages have.
    from mltl.config import from_dict
    from mltl.models.featurize import Featurizer

    text = {"de": [["Haus", "Berlin"]], "en": [["House"]]}
    chars = Featurizer.build_chars(text, {"de"})
    assert "H" in chars and "B" not in chars and "b" in chars  # "H" from English only
    f = Featurizer({"de": ["<pad>", "<unk>"], "en": ["<pad>", "<unk>"]}, chars, lowercase_chars={"de"})
    ids = {c: i for i, c in enumerate(chars)}
    assert f.encode("de", [["Haus"]]).form_chars[0, :4].tolist() == [ids[c] for c in "haus"]
    assert f.encode("en", [["House"]]).form_chars[0, 0] == ids["H"]
    every = Featurizer({"en": ["<pad>", "<unk>"]}, chars, lowercase_chars=True)
    assert every.encode("en", [["House"]]).form_chars[0, 0] == ids["h"]
    cfg = from_dict({"task": "tagging", "model": {"char_lowercase": "de"}})
    assert cfg.model.char_lowercase == ["de"] and cfg.model.lowercase_chars is False


def test_cpu_bilstm_equals_packed_nn_lstm():
    # BiLSTMEncoder's CPU path (mltl.models.bilstm_cpu) against nn.LSTM over packed
    # sequences: same outputs (zeros at padding) and the same gradients.
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from mltl.models.bilstm_cpu import bilstm

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    x = torch.randn(6, 9, 5, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([3, 9, 1, 7, 7, 2])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=9)
    out = bilstm(x, lengths, lstm)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-12)
    assert out[2, 1:].abs().sum() == 0  # padding stays zero
    g = torch.randn_like(ref)
    params = [x, *lstm.parameters()]
    for a, b in zip(torch.autograd.grad(out, params, g), torch.autograd.grad(ref, params, g)):
        assert torch.allclose(a, b, atol=1e-10)


# ------------------------------------------------------------------ assembled model
def _net(**kw):
    base = dict(
        task_head="tagging",
        n_labels=5,
        sources=["en", "es", "zh"],
        langs=["en", "es", "zh", "de"],
        emb_dim=8,
        n_chars=30,
        char_emb_size=4,
        char_kernels=6,
        char_out=5,
        shared_hidden=10,
        private_hidden=12,
        layers=1,
        expert_hidden=7,
        d_kernels=4,
        d_hidden=3,
        dropout=0.0,
    )
    base.update(kw)
    torch.manual_seed(0)
    net = ManMoE(**base)
    for lang in base["langs"]:
        net.embeddings.set_language(lang, torch.randn(20, 8).numpy())
    return net


def _batch(lang="en", B=3, T=6):
    lengths = torch.tensor([T, T - 2, 1][:B])
    mask = torch.arange(T)[None, :] < lengths[:, None]
    words = torch.randint(2, 20, (B, T)).masked_fill(~mask, 0)
    chars = torch.randint(1, 30, (4, 5))
    return Batch(lang, words, lengths, mask, chars, torch.randint(0, 4, (B, T)))


def test_tagging_shapes():
    net = _net().eval()
    out = net(_batch())
    assert out.log_probs.shape == (3, 6, 5)
    assert out.gate1.shape == (3, 6, 3) and out.gate2.shape == (3, 6, 3)
    assert out.fs.shape == (3, 6, 10)
    m = out.mask
    assert torch.allclose(out.log_probs.exp().sum(-1)[m], torch.ones(int(m.sum())), atol=1e-5)
    assert (out.log_probs[~m] == 0).all()  # padding is not computed
    assert net.discriminate(out.fs, out.mask).shape == (3, 4)


def test_classification_shapes_and_attention_mask():
    net = _net(task_head="classification", n_labels=2).eval()
    b = _batch()
    out = net(b)
    assert out.log_probs.shape == (3, 2) and out.gate2.shape == (3, 3)
    feats = torch.randn(3, 6, 22)
    att = net.head.attention(feats, b.mask)
    assert torch.allclose(att.sum(1), torch.ones(3))
    assert (att[~b.mask] == 0).all()


def test_ablations_remove_exactly_their_module():
    full = _net()
    total = count_parameters(full)
    no_c = _net(c_moe=False)
    assert no_c.head.pred.moe is None
    assert count_parameters(no_c) == total - count_parameters(full.head) + count_parameters(no_c.head)
    no_fp = _net(fp_moe=False)
    assert no_fp.fp is None and no_fp.fp_moe is None
    # removing Fp also shrinks C's input (Fs only), nothing else changes
    assert count_parameters(no_fp) == (
        total
        - count_parameters(full.fp)
        - count_parameters(full.fp_moe)
        - count_parameters(full.head)
        + count_parameters(no_fp.head)
    )
    no_adv = _net(adversary=False)
    assert no_adv.discriminator is None
    assert count_parameters(no_adv) == total - count_parameters(full.discriminator)
    no_char = _net(char_cnn=False)
    assert no_char.charcnn is None
    bwe = _net(c_moe=False, fp_moe=False, adversary=False)
    assert bwe.fp is None and bwe.discriminator is None and bwe.head.pred.moe is None
    out = bwe.eval()(_batch())
    assert out.gate1 is None and out.gate2 is None


def test_main_parameters_exclude_discriminator():
    net = _net()
    d = {id(p) for p in net.discriminator.parameters()}
    main = net.main_parameters()
    assert not d & {id(p) for p in main}
    assert len(main) + len(d) == len([p for p in net.parameters() if p.requires_grad])
    # frozen embeddings are not parameters at all and not in the state dict
    assert not any(k.startswith("embeddings") for k in net.state_dict())


# ------------------------------------------------------------------ registry + config
def test_registry_lookup_and_errors():
    assert get_task("tagging").head == "tagging"
    assert get_encoder("bilstm") is BiLSTMEncoder
    # (not "crf": the example plugin mltl-crf registers that one when installed)
    with pytest.raises(InputError, match="unknown head 'no-such-head'.*classification, .*tagging"):
        get_head("no-such-head")

    @register_head("test-dummy-head")
    class Dummy:  # noqa: D401
        pass

    assert get_head("test-dummy-head") is Dummy
    with pytest.raises(ValueError):
        register_head("test-dummy-head")(object)


def test_config_precedence_and_task_defaults(tmp_path):
    cfg = merge({"task": "classification"})
    assert cfg.training.lambda1 == TASK_DEFAULTS["classification"]["training"]["lambda1"] == 0.002
    assert cfg.training.lambda2 == 0.1 and cfg.model.char_cnn is False
    assert merge({}).training.lambda1 == 1e-4 and merge({}).model.char_cnn is True
    # tagging draws random batches (a token-mean loss); classification sorts by length
    assert merge({}).training.length_buckets == 1 and cfg.training.length_buckets == 50
    toml = tmp_path / "t.toml"
    toml.write_text('task = "tagging"\n[training]\nlambda1 = 0.5\nbatch_size = 8\n[data]\nsources = ["en"]\n')
    cfg = merge(load_toml(toml), {"training": {"batch_size": 4}}, parse_set(["model.c_moe=false"]))
    assert cfg.training.lambda1 == 0.5 and cfg.training.batch_size == 4 and cfg.model.c_moe is False
    assert cfg.data.sources == ["en"]
    assert merge({"model": {"arch": "bwe"}}).model.adversary is False
    man = merge({"model": {"arch": "man"}}).model
    assert (man.c_moe, man.fp_moe, man.adversary) == (False, False, True)
    with pytest.raises(InputError, match="unknown config key"):
        merge({"training": {"lamda1": 1}})
    with pytest.raises(InputError, match="training.batch_size"):
        merge({"training": {"batch_size": "many"}})
    with pytest.raises(InputError, match="arch"):
        merge({"model": {"arch": "transformer"}})


# ------------------------------------------------------------------ span F1 vs seqeval
HAND_CASES = [
    ([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]]),
    ([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]]),
    ([["O", "I-LOC", "I-LOC"]], [["O", "B-LOC", "I-LOC"]]),  # IOB1-style start
    ([["B-LOC", "I-PER", "O"]], [["B-LOC", "B-PER", "O"]]),  # type change starts an entity
    ([["B-ORG", "B-ORG", "I-ORG"], ["O"]], [["B-ORG", "I-ORG", "I-ORG"], ["B-MISC"]]),
    ([["O", "O"]], [["O", "O"]]),  # no entities at all: 0
    ([["B-PER"], ["I-PER", "B-LOC"]], [["B-PER"], ["B-PER", "B-LOC"]]),
]


@pytest.mark.parametrize("gold,pred", HAND_CASES)
def test_span_f1_equals_seqeval(gold, pred):
    seqeval = pytest.importorskip("seqeval.metrics")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert span_f1(gold, pred) == pytest.approx(seqeval.f1_score(gold, pred))


def test_span_f1_random_against_seqeval():
    seqeval = pytest.importorskip("seqeval.metrics")
    import warnings

    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(300):
            gold = [[rng.choice(tags) for _ in range(rng.randint(1, 8))] for _ in range(rng.randint(1, 4))]
            pred = [[rng.choice(tags) for _ in s] for s in gold]
            assert span_f1(gold, pred) == pytest.approx(seqeval.f1_score(gold, pred))


def test_get_spans_and_counts():
    assert get_spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    r = span_prf([["B-PER", "O"]], [["B-PER", "B-LOC"]])
    assert (r["correct"], r["gold"], r["predicted"]) == (1, 1, 2)
    assert r["precision"] == 0.5 and r["recall"] == 1.0


# ------------------------------------------------------------------ every registered component
def _components():
    from mltl.registry import load_plugins, names

    load_plugins(report=False)  # built-ins and the installed plugins (the CI installs plugins/*)
    return (
        [("task", n) for n in names("task")]
        + [("head", n) for n in names("head")]
        + [("encoder", n) for n in names("encoder")]
    )


@pytest.mark.parametrize("kind,name", _components())
def test_every_registered_component_builds_and_trains_a_step(kind, name):
    # Issue 18: `mltl plugins` lists only what can be built. Each task with its head C,
    # each head (with a task of its kind), and each encoder as Fs and Fp builds a
    # MAN-MoE, runs a training forward, its loss and a backward pass, and an eval
    # forward of the right shape.
    from mltl.registry import names

    if kind == "task":
        task = get_task(name)
    elif kind == "head":
        own = [get_task(t) for t in names("task") if get_task(t).head == name]
        task = own[0] if own else get_task("tagging" if get_head(name).token_level else "classification")
    else:
        task = get_task("tagging")
    head_name = name if kind == "head" else task.head
    head = get_head(head_name)
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    net = _net(task_head=head_name, encoder=name if kind == "encoder" else "bilstm", labels=labels, layers=2)
    b = _batch()
    n = b.words.shape[0]
    if task.token_level:
        ys = [[labels[(i + t) % 3] for t in range(int(b.lengths[i]))] for i in range(n)]
    else:
        multi = isinstance(task.read_label(["B-PER", "O"]), list)
        ys = [[labels[i % 5], labels[(i + 1) % 5]] if multi else labels[i % 5] for i in range(n)]
    gold = torch.as_tensor(task.encode_labels(ys, {l: i for i, l in enumerate(labels)}))
    if task.token_level:
        padded = torch.full(b.words.shape, -100, dtype=torch.long)
        for i in range(n):
            padded[i, : int(b.lengths[i])] = (
                gold[i][: int(b.lengths[i])]
                if gold.ndim == 2
                else gold[int(b.lengths[:i].sum()) : int(b.lengths[: i + 1].sum())]
            )
        gold = padded
    from mltl.models.contracts import Encoder, HeadModule

    assert isinstance(net.fs, Encoder) and isinstance(net.head, HeadModule)  # the Protocols of the contract
    net.train()
    out = net(b)
    loss = net.head.loss(out.log_probs, gold, b.mask) - net.discriminate(out.fs, b.mask).logsumexp(-1).mean()
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in net.fs.parameters())
    net.eval()
    with torch.no_grad():
        ev = net(b).log_probs
    assert ev.shape[:1] == (n,) and ev.shape[-1] == len(labels)
    assert head.token_level == task.token_level
