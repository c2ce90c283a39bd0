"""Issue 18: one source of truth. Flags, help and defaults of train/align/embed come from the
config dataclasses; old spellings keep working with one warning line; library messages go
through `logging`, so a notebook user can capture or silence them."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from conftest import EXAMPLES, assert_one_line_error, run_cli

from mltl.cli.options import settings_params
from mltl.config import TASK_DEFAULTS, DataConfig, ModelConfig, TrainConfig, TrainingConfig
from mltl.embeddings.align_config import AlignConfig, AlignJob
from mltl.embeddings.embed_config import EmbedConfig, TextInput

SECTIONS = {
    "train": [(None, TrainConfig), ("data", DataConfig), ("model", ModelConfig), ("training", TrainingConfig)],
    "align": [("job", AlignJob), ("config", AlignConfig)],
    "embed": [("text", TextInput), ("fasttext", EmbedConfig)],
}


def _options(cmd: str) -> dict[str, str]:
    """flag -> help text of the generated options of ``cmd``."""
    out = {}
    for p in settings_params(SECTIONS[cmd], TASK_DEFAULTS if cmd == "train" else None):
        for decl in p.default.param_decls:
            for flag in decl.split("/"):
                out[flag] = p.default.help.replace("\\[", "[")  # rich markup's escape
    return out


@pytest.mark.parametrize("cmd", sorted(SECTIONS))
def test_help_shows_each_fields_own_default(cmd):
    opts = _options(cmd)
    h = run_cli(cmd, "--help", check=True).stdout
    for section, cls in SECTIONS[cmd]:
        for f in dataclasses.fields(cls):
            if not f.metadata.get("cli"):
                continue
            flag = (f.metadata.get("flags") or ("--" + f.name.replace("_", "-"),))[0].split("/")[0]
            assert flag in opts and flag in h, (cmd, flag)
            default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            if section and any(f.name in d.get(section, {}) for d in TASK_DEFAULTS.values()):
                continue  # the task's default: below
            if f.metadata.get("default_help"):
                assert f"[default: {f.metadata['default_help']}]" in opts[flag]
            elif isinstance(default, bool):
                assert f"[default: {'on' if default else 'off'}]" in opts[flag]
            elif default not in (None, []):
                shown = format(default, "g") if isinstance(default, float) else str(default)
                assert f"[default: {shown}]" in opts[flag], (flag, opts[flag])
    if cmd == "train":
        assert "[default: tagging 0.0001, classification 0.002]" in opts["--lambda1"]
        assert "[default: tagging on, classification off]" in opts["--char-cnn"]
        assert "[default: 16]" in opts["--batch-size"] and "[default: 1]" in opts["--k"]


def test_train_defaults_equal_the_dataclasses(tmp_path):
    # No flag given: the merged config is the dataclasses' defaults with the task's on top.
    cfg = json.loads(run_cli("train", "--dry-run", check=True).stdout)
    want = dataclasses.asdict(TrainConfig())
    for section, values in TASK_DEFAULTS["tagging"].items():
        want[section].update(values)
    assert cfg == want
    # A flag lands in its field, a comma list becomes a list.
    cfg = json.loads(
        run_cli(
            "train",
            "--dry-run",
            "--task",
            "classification",
            "--sources",
            "en, es",
            "--fresh-d-batches",
            "--epochs",
            "3",
            "--strict",
            check=True,
        ).stdout
    )
    assert cfg["data"]["sources"] == ["en", "es"] and cfg["training"]["share_d_batches"] is False
    assert cfg["training"]["max_epochs"] == 3 and cfg["data"]["strict_labels"] is True
    assert cfg["training"]["lambda1"] == TASK_DEFAULTS["classification"]["training"]["lambda1"]


def test_old_spellings_work_with_one_warning(tmp_path):
    raw = EXAMPLES / "unlabeled" / "en.txt"
    p = run_cli("prepare", "--unlabeled", "--lang", "en", "--tokenizer", "whitespace", raw, "-o", tmp_path / "en")
    assert p.returncode == 0, p.stderr
    assert "`mltl prepare --unlabeled` is deprecated: use `--task unlabeled`" in p.stderr
    meta = json.loads((tmp_path / "en" / "meta.json").read_text())
    assert meta["task"] == "unlabeled" and meta["splits"]["unlabeled"]["items"] > 0
    # align -m is --method (-m is --model in predict/evaluate): a bad method is named as such
    p = run_cli("align", "-m", "bogus", raw, raw, "--langs", "en,de", "-o", tmp_path / "al")
    assert "`mltl align -m` is deprecated: use `--method` VALUE" in p.stderr
    assert "unknown alignment method 'bogus'" in p.stderr and p.returncode == 2
    # evaluate --gold/--pred is `evaluate predictions`
    gold = tmp_path / "g.conll"
    gold.write_text("Berlin B-LOC\nist O\n\n", encoding="utf-8")
    p = run_cli("evaluate", "--gold", gold, "--pred", gold, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["f1"] == 1.0
    assert "is now `mltl evaluate predictions --gold G --pred P`" in p.stderr
    q = run_cli("evaluate", "predictions", "--gold", gold, "--pred", gold, "--json", check=True)
    assert q.stdout == p.stdout and q.stderr == ""
    # -q silences the warning, not the result
    p = run_cli("-q", "evaluate", "--gold", gold, "--pred", gold, "--json")
    assert p.stderr == "" and json.loads(p.stdout)["f1"] == 1.0


def test_evaluate_subcommands_say_what_they_need(tmp_path):
    assert_one_line_error(run_cli("evaluate", "model", EXAMPLES / "ner" / "de" / "test.txt"), "--model DIR")
    assert_one_line_error(run_cli("evaluate", "predictions", "--gold", tmp_path / "g"), "--gold FILE and --pred FILE")
    assert_one_line_error(run_cli("evaluate", "bli", "a.vec"), "usage: mltl evaluate bli SRC_VECTORS TGT_VECTORS")
    h = run_cli("evaluate", "--help", check=True).stdout
    assert all(c in h for c in ("model", "predictions", "bli"))


def test_library_messages_go_through_logging(tmp_path, caplog, capfd, monkeypatch):
    # A notebook user: no handler configured -> nothing on stderr; caplog (any handler) sees the messages.
    import numpy as np

    from mltl import log

    # as a fresh process has it: an earlier in-process test may have run log.configure()
    monkeypatch.setattr(log.logger, "handlers", [])
    monkeypatch.setattr(log.logger, "propagate", True)
    monkeypatch.setattr(log.logger, "level", logging.NOTSET)

    from mltl.embeddings.align import run_align
    from mltl.embeddings.vectors import Vectors, save_vectors

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    X = rng.normal(size=(60, 8)).astype(np.float32)
    for lang, M in (("en", X), ("de", X @ np.linalg.qr(rng.normal(size=(8, 8)))[0].astype(np.float32))):
        save_vectors(Vectors(words, M), tmp_path / f"{lang}.vec", format="vec")
    with caplog.at_level(logging.INFO, logger="mltl"):
        run_align(
            [str(tmp_path / "en.vec"), str(tmp_path / "de.vec")],
            str(tmp_path / "out"),
            config=AlignConfig(method="identical", refine_vocab=60),
        )
    assert any(r.name == "mltl" and "60 x 8 from" in r.getMessage() for r in caplog.records)
    assert capfd.readouterr().err == ""
    caplog.clear()
    logging.getLogger("mltl").setLevel(logging.ERROR)  # silenced
    try:
        run_align(
            [str(tmp_path / "en.vec"), str(tmp_path / "de.vec")],
            str(tmp_path / "out2"),
            config=AlignConfig(method="identical", refine_vocab=60),
        )
    finally:
        logging.getLogger("mltl").setLevel(logging.NOTSET)
    assert not [r for r in caplog.records if r.levelno < logging.ERROR]
