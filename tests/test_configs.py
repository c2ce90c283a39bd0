"""Issue 20, configs as files: `mltl init config` writes a complete, commented config that
`mltl train --config` reads back unchanged; the example configs train on the shipped data."""

from __future__ import annotations

import dataclasses
import json
import tomllib

import pytest
from conftest import ROOT, TINY_MODEL, assert_one_line_error, run_cli

from mltl.config import SECTIONS


@pytest.mark.parametrize(
    "args",
    [
        ["--task", "tagging", "--sources", "en,es", "--target", "de"],
        ["--task", "classification", "--sources", "en", "--target", "fr", "--data", "d/", "--vectors", "v/"],
        ["--task", "tagging", "--arch", "bwe", "--sources", "en,es,nl", "--target", "de"],
    ],
)
def test_init_config_is_complete_commented_and_reads_back_the_same(tmp_path, args):
    out = tmp_path / "train.toml"
    text = run_cli("init", "config", *args, check=True).stdout
    out.write_text(text, encoding="utf-8")
    # every key of every section is in the file, set or (None / empty table) commented out
    parsed = tomllib.loads(text)
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f.name in parsed[name] or f"# {f.name} = " in text, (name, f.name)
            help_ = f.metadata.get("help")
            assert help_ and help_.split()[0] in text, (name, f.name)  # documented
    # `train --config FILE --dry-run` == the same settings given as flags
    from_file = json.loads(run_cli("train", "--config", out, "--dry-run", check=True).stdout)
    from_flags = json.loads(run_cli("train", *args, "--dry-run", check=True).stdout)
    assert from_file == from_flags
    # and the file says what --dry-run says, key for key
    for name in SECTIONS:
        for key, value in parsed[name].items():
            assert from_file[name][key] == value, (name, key)
    # -o writes the same text, atomically; an existing file is kept without --force
    run_cli("init", "config", *args, "-o", tmp_path / "again.toml", check=True)
    assert (tmp_path / "again.toml").read_text(encoding="utf-8") == text
    assert_one_line_error(run_cli("init", "config", "-o", tmp_path / "again.toml"), "again.toml", "--force")


def test_init_config_checks_what_it_is_given():
    assert_one_line_error(run_cli("init", "config", "--arch", "transformer"), "unknown --arch 'transformer'")


@pytest.mark.slow
def test_example_configs_train_on_the_shipped_data(example_chain, tmp_path):
    # examples/train-ner.toml is the quickstart's run; here pointed at this session's data and
    # cut to a few tiny steps (flags override the file).
    ner = run_cli("train", "--config", "examples/train-ner.toml", "--dry-run", cwd=ROOT, check=True).stdout
    cfg = json.loads(ner)
    assert cfg["data"]["sources"] == ["en", "es", "nl"] and cfg["data"]["target"] == "de"
    assert (cfg["training"]["max_epochs"], cfg["training"]["steps_per_epoch"]) == (24, 25)
    quick = (ROOT / "examples" / "quickstart.sh").read_text(encoding="utf-8")
    assert "mltl train --config examples/train-ner.toml" in quick  # one source for both
    short = ["--max-steps", "4", "--steps-per-epoch", "2", "--max-epochs", "2", *TINY_MODEL]
    run_cli(
        "-q",
        "train",
        "--config",
        "examples/train-ner.toml",
        "--data",
        example_chain / "data",
        "--vectors",
        example_chain / "aligned",
        *short,
        "-o",
        tmp_path / "ner",
        cwd=ROOT,
        check=True,
    )
    saved = json.loads((tmp_path / "ner" / "model-best" / "config.json").read_text())
    assert saved["data"]["sources"] == ["en", "es", "nl"] and saved["training"]["seed"] == 1
    # examples/train-cls.toml: the classification settings (a classification model trains, on
    # the same data layout, in test_predict_cli::test_classification_predict_and_evaluate)
    cfg = json.loads(run_cli("train", "--config", "examples/train-cls.toml", "--dry-run", cwd=ROOT, check=True).stdout)
    assert cfg["task"] == "classification" and cfg["data"]["sources"] == ["en", "es"] and cfg["data"]["target"] == "de"
    assert cfg["model"]["char_cnn"] is False and cfg["training"]["lambda1"] == 0.002  # the task's defaults
    assert cfg["data"]["data"] == "out/quickstart/data-cls"
    assert '-o "$OUT/data-cls/$lang"' in quick  # the quickstart prepares that layout
