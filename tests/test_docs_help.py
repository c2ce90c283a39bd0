"""Issue 23, row 15 (docs and --help) and leftovers, through the real CLI: the README's
short tour runs as written on the shipped data, --help says what the options do, `mltl
embed` sizes its n-gram table to the corpus, SIGTERM during train is named as such, and
predict/evaluate check --device as train does."""
from __future__ import annotations

import re

import pytest

from conftest import EXAMPLES, assert_one_line_error, run_cli


def help_text(*cmd: str) -> str:
    proc = run_cli(*cmd, "--help", check=True)
    # one line per option row: the table's borders and wrapping removed
    return " ".join(" ".join(ln.strip(" │╭╮╰╯─") .split()) for ln in proc.stdout.splitlines())


# --- c. prepare: "[test]" is text, not rich markup --------------------------------------------------

def test_prepare_help_keeps_the_brackets():
    assert "Input files: train [dev [test]] (or any number with --split)" in help_text("prepare")


# --- d. align --max-iters: what it bounds -----------------------------------------------------------

def test_align_help_says_what_max_iters_bounds():
    h = help_text("align")
    assert "--max-iters <int> Max iterations of the final refinement" in h
    assert "Not the stochastic dictionary induction that --method unsupervised runs before it" in h


# --- f. boolean flags take no value: no <bool> in --help ---------------------------------------------

@pytest.mark.parametrize("cmd", [(), ("prepare",), ("train",), ("embed",)])
def test_flags_show_no_type(cmd):
    h = help_text(*cmd)
    assert "<bool>" not in h
    assert re.search(r"--help -h Show this message and exit\.", h), h
    if cmd == ("prepare",):
        assert "--repair Repair invalid tag sequences" in h and "--seed <int>" in h
    if cmd == ("train",):
        assert "--amp --no-amp bfloat16 autocast" in h


# --- h. predict and evaluate check --device as train does ---------------------------------------------

DE_TEST = EXAMPLES / "ner" / "de" / "test.txt"


@pytest.mark.parametrize("cmd", ["predict", "evaluate"])
@pytest.mark.parametrize("device", ["cudax", "cuda:x", "gpu"])
def test_a_device_that_is_no_device_lists_the_accepted_ones(cmd, device, tmp_path):
    proc = run_cli(cmd, "--device", device, "--model", tmp_path / "model", DE_TEST)
    assert_one_line_error(proc, f"unknown --device {device!r}; choose from auto, cpu, cuda, cuda:N")


@pytest.mark.parametrize("cmd", ["predict", "evaluate"])
def test_a_gpu_that_is_not_there_is_named_as_train_names_it(cmd, tmp_path):
    proc = run_cli("-q", cmd, "--device", "cuda:99", "--model", tmp_path / "model", DE_TEST)
    line = assert_one_line_error(proc, "--device cuda:99: ")   # no GPU here, or not 100 of them
    assert "no CUDA GPU is available here (use --device cpu or auto)" in line or "GPU(s) present" in line
