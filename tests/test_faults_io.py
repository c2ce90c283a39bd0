"""Faults around the edges of every command (issue 23, rows 6-9, 13, 14), through the real CLI:
signals, a closed pipe, file systems that refuse an output, and silent or misleading
handling of inputs. Each test checks the exit code, the one stderr line and what is
left on disk."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, assert_one_line_error, chain_train_args, run_cli, wait_for_file

from mltl.runtime import THREAD_ENV_VARS

# Whole CLI pipelines in subprocesses: `pytest -m "not slow"` (the fast suite) leaves them out.
pytestmark = pytest.mark.slow

DE_TEST = EXAMPLES / "ner" / "de" / "test.txt"  # CoNLL columns in a .txt file
CONLL = "Berlin B-LOC\nist O\ngroß O\n. O\n\n"


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env.update(PYTHONIOENCODING="utf-8", COLUMNS="200")
    return env


def start_cli(*args, fsize_limit: int | None = None, **kw) -> subprocess.Popen:
    """``python -m mltl ARGS`` in the background, with SIGINT at its default (a shell script's
    background job would hand it down ignored) and optionally a file size limit (ulimit -f)."""

    def child() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if fsize_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))

    return subprocess.Popen(
        [sys.executable, "-m", "mltl", *map(str, args)], env=cli_env(), cwd=ROOT, preexec_fn=child, **kw
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        out.decode() if isinstance(out, bytes) else out,
        err.decode() if isinstance(err, bytes) else err,
    )


def leftovers(d: Path) -> list[str]:
    """Hidden temp outputs (``.NAME.XXXX.tmp``, ``.NAME.old-PID``) in ``d``."""
    return sorted(
        p.name for p in d.iterdir() if p.name.startswith(".") and (p.name.endswith(".tmp") or ".old-" in p.name)
    )


@pytest.fixture(scope="module")
def model(example_chain):
    return example_chain / "model" / "model-best"


@pytest.fixture(scope="module")
def big_text(tmp_path_factory) -> Path:
    """About 2.5 MB of raw English: `mltl prepare` (spaCy) works on it for seconds."""
    p = tmp_path_factory.mktemp("big") / "big.txt"
    line = "The committee met in Brussels on Tuesday, and {} delegates voted for the new rules. It rained.\n"
    p.write_text("".join(line.format(i) for i in range(27000)), encoding="utf-8")
    return p


# --- rows 6 and 8: SIGTERM and Ctrl-C -------------------------------------------------------------


@pytest.mark.parametrize(
    "sigs, code, name",
    [
        ((signal.SIGTERM,), 143, "SIGTERM"),
        ((signal.SIGINT,), 130, "Ctrl-C"),
        ((signal.SIGINT, signal.SIGINT), 130, "Ctrl-C"),  # a double Ctrl-C
    ],
    ids=["sigterm", "sigint", "double-sigint"],
)
def test_signal_during_prepare_cleans_up_and_says_so(big_text, tmp_path, sigs, code, name):
    out = tmp_path / "data"
    proc = start_cli(
        "-q",
        "prepare",
        "--task",
        "unlabeled",
        "--lang",
        "en",
        big_text,
        "-o",
        out,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while not list(tmp_path.glob(".data.*.tmp")):  # the output is under way, in its temp directory
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"prepare ended or stalled before writing: {finish(proc)}")
        time.sleep(0.02)
    for i, sig in enumerate(sigs):
        if i:
            time.sleep(0.05)
        proc.send_signal(sig)
    p = finish(proc)
    line = assert_one_line_error(p, "interrupted", name, code=code)
    assert "Traceback" not in p.stderr, line
    assert leftovers(tmp_path) == [] and not out.exists()


def test_sigterm_during_train_saves_a_checkpoint(example_chain, tmp_path):
    w, out = example_chain, tmp_path / "run"
    proc = start_cli(
        *chain_train_args(w, out),
        "--max-steps",
        "100000",
        "--max-epochs",
        "1000",
        "--patience",
        "0",
        "--checkpoint-every",
        "2",
        "--seed",
        "1",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for_file(out / "checkpoint" / "trainer.pt", proc, what="the first checkpoint")  # training has begun
    proc.send_signal(signal.SIGTERM)
    p = finish(proc)
    assert_one_line_error(p, "interrupted at step", "checkpoint saved", f"--resume {out}", code=143)
    assert (out / "checkpoint" / "trainer.pt").is_file() and (out / "model-last").is_dir()
    assert leftovers(out) == []


# --- row 7: a reader that goes away ---------------------------------------------------------------


def test_closed_pipe_ends_predict_quietly_with_exit_0(model, tmp_path):
    text = tmp_path / "many.txt"
    text.write_text("".join(f"Satz Nummer {i} über Berlin und Paris .\n" for i in range(4000)))
    with open(tmp_path / "stderr", "wb") as errf:
        proc = start_cli(
            "predict", "--model", model, text, "--tokenizer", "whitespace", stdout=subprocess.PIPE, stderr=errf
        )
        first = [proc.stdout.readline() for _ in range(2)]  # `| head -2`
        proc.stdout.close()
        proc.wait(timeout=120)
    err = (tmp_path / "stderr").read_text()
    assert json.loads(first[0])["tokens"][0]["text"] == "Satz"
    assert proc.returncode == 0, err  # mltl's own exit status, not head's
    assert err == ""


# --- row 9: file systems that refuse an output ------------------------------------------------------


def test_output_under_a_file_names_the_file(tmp_path):
    (tmp_path / "train.conll").write_text(CONLL)
    (tmp_path / "notes").write_text("a file, not a directory\n")
    target = tmp_path / "notes" / "nested" / "de"
    p = run_cli("prepare", "--lang", "de", tmp_path / "train.conll", "-o", target)
    assert_one_line_error(p, str(target), f"{tmp_path / 'notes'} is a file, not a directory")
    assert (tmp_path / "notes").read_text() == "a file, not a directory\n"
    assert leftovers(tmp_path) == []


def test_unwritable_place_gives_exit_2_with_the_reason(tmp_path):
    # tests run as root, which chmod does not stop; sysfs refuses new files even to root
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no sysfs here")
    (tmp_path / "train.conll").write_text(CONLL)
    p = run_cli("prepare", "--lang", "de", tmp_path / "train.conll", "-o", "/sys/mltl-test-out")
    line = assert_one_line_error(p, "/sys/mltl-test-out")
    assert "not permitted" in line or "read-only" in line.lower() or "not writable" in line, line
    assert not Path("/sys/mltl-test-out").exists()


def test_disk_full_while_writing_removes_the_temp_output(tmp_path):
    # A full disk, as the process sees it: a file size limit (ulimit -f) makes write() fail
    # with EFBIG half-way through train.jsonl, the same path through the code as ENOSPC.
    (tmp_path / "train.conll").write_text(CONLL * 3000)
    out = tmp_path / "de"
    p = finish(
        start_cli(
            "prepare",
            "--lang",
            "de",
            tmp_path / "train.conll",
            "-o",
            out,
            fsize_limit=64 * 1024,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    )
    assert_one_line_error(p, str(out), "cannot write the output", "File too large")
    assert not out.exists() and leftovers(tmp_path) == []


def test_stdout_on_a_full_disk(tmp_path):
    (tmp_path / "g.conll").write_text(CONLL)
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "mltl",
                "evaluate",
                "predictions",
                "--gold",
                tmp_path / "g.conll",
                "--pred",
                tmp_path / "g.conll",
                "--json",
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            cwd=ROOT,
        )
    assert_one_line_error(p, "No space left on device")


def test_plot_format_is_checked_before_evaluating(model, tmp_path):
    t0 = time.monotonic()
    p = run_cli("evaluate", "--model", model, DE_TEST, "--input-format", "conll", "--plot", tmp_path / "g.xyz")
    assert_one_line_error(p, "g.xyz", "unknown image format .xyz", ".png", ".svg")
    assert not (tmp_path / "g.xyz").exists() and leftovers(tmp_path) == []
    assert time.monotonic() - t0 < 30
    p = run_cli("evaluate", "predictions", "--gold", DE_TEST, "--pred", DE_TEST, "--plot", tmp_path / "g.png")
    assert_one_line_error(p, "--plot", "--model")


# --- row 14: silent gaps -----------------------------------------------------------------------------


def test_gold_and_pred_with_other_tokens_are_refused(tmp_path):
    (tmp_path / "gold.conll").write_text("Berlin B-LOC\nist O\n\nParis B-LOC\nauch O\n\n")
    (tmp_path / "pred.conll").write_text("Berlin B-LOC\nist O\n\nRom B-LOC\nauch O\n\n")
    p = run_cli("evaluate", "predictions", "--gold", tmp_path / "gold.conll", "--pred", tmp_path / "pred.conll")
    assert_one_line_error(
        p, f"{tmp_path / 'pred.conll'}:4", "sentence 2, token 1", "'Rom'", "'Paris'", f"{tmp_path / 'gold.conll'}:4"
    )


def test_split_with_unlabeled_is_refused(tmp_path):
    (tmp_path / "raw.txt").write_text("One sentence here.\nAnother one there.\n")
    p = run_cli(
        "prepare",
        "--task",
        "unlabeled",
        "--lang",
        "en",
        "--tokenizer",
        "whitespace",
        "--split",
        "80/20",
        tmp_path / "raw.txt",
        "-o",
        tmp_path / "out",
    )
    assert_one_line_error(p, "--split", "--task unlabeled", "drop --split")
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_two_inputs_with_one_name_are_refused_before_predicting(model, tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x.txt").write_text(f"Berlin liegt an der Spree {d} .\n")
    p = run_cli("predict", "--model", model, tmp_path / "a" / "x.txt", tmp_path / "b" / "x.txt", "-o", tmp_path / "out")
    assert_one_line_error(
        p, str(tmp_path / "a" / "x.txt"), str(tmp_path / "b" / "x.txt"), str(tmp_path / "out" / "x.txt.jsonl")
    )
    assert not (tmp_path / "out").exists()


# --- row 13: messages that name the real problem -----------------------------------------------------


def test_conll_in_a_txt_file_is_read_as_conll(model, tmp_path):
    ref = run_cli("evaluate", "--model", model, DE_TEST, "--input-format", "conll", "--json", check=True)
    p = run_cli("evaluate", "--model", model, DE_TEST, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["f1"] == json.loads(ref.stdout)["f1"]
    assert "read as CoNLL" in p.stderr and "--input-format text" in " ".join(p.stderr.split())
    rows = run_cli("-q", "predict", "--model", model, DE_TEST, check=True).stdout.splitlines()
    assert [r.split()[:2] for r in rows[:2]] == [["Die", "O"], ["SPD", "B-ORG"]]  # CoNLL out: token gold predicted
    assert len(rows[0].split()) == 3
    (tmp_path / "raw.txt").write_text("Angela Merkel besuchte Paris .\n")
    p = run_cli("evaluate", "--model", model, tmp_path / "raw.txt")
    assert_one_line_error(p, "raw.txt", "raw text has no gold", "--input-format conll")


def test_output_dir_that_is_a_file_is_named_a_file(tmp_path):
    (tmp_path / "train.conll").write_text(CONLL)
    (tmp_path / "taken").write_text("keep me\n")
    p = run_cli("prepare", "--lang", "de", tmp_path / "train.conll", "-o", tmp_path / "taken")
    line = assert_one_line_error(p, str(tmp_path / "taken"), "is a file, not a directory")
    assert "--force" not in line
    assert (tmp_path / "taken").read_text() == "keep me\n" and leftovers(tmp_path) == []


def test_predict_names_directories_and_files_for_what_they_are(tmp_path):
    (tmp_path / "texts").mkdir()
    p = run_cli("predict", "--model", tmp_path / "no-model", tmp_path / "texts")
    assert_one_line_error(p, str(tmp_path / "texts"), "is a directory", "texts/*")
    (tmp_path / "a.txt").write_text("Berlin .\n")
    (tmp_path / "b.txt").write_text("Paris .\n")
    (tmp_path / "out.jsonl").write_text("keep me\n")
    p = run_cli(
        "predict",
        "--model",
        tmp_path / "no-model",
        tmp_path / "a.txt",
        tmp_path / "b.txt",
        "-o",
        tmp_path / "out.jsonl",
    )
    assert_one_line_error(p, str(tmp_path / "out.jsonl"), "-o names a file", "2 inputs need a directory")
    assert (tmp_path / "out.jsonl").read_text() == "keep me\n"


def test_unknown_gold_labels_are_named_beside_the_models(model, tmp_path):
    (tmp_path / "odd.conll").write_text("Berlin B-CITY\nliegt O\n\n")
    p = run_cli("evaluate", "--model", model, tmp_path / "odd.conll")
    assert_one_line_error(
        p,
        "odd.conll",
        "gold labels not in the model's label set: B-CITY",
        "the model's labels: ",
        "B-LOC",
        "--label-map",
    )


def test_an_interrupt_python_drops_still_stops_the_commit(tmp_path):
    """A signal handled inside a weakref callback (importlib's module locks during a lazy import):
    Python prints and drops the handler's exception. The output must still not be committed."""
    out = tmp_path / "out.txt"
    script = f"""
import sys, weakref
from mltl import signals
from mltl.files import atomic_file
signals.install()
class A: pass
a = A()
def cb(_):
    raise signals.Interrupted(2)  # what the handler raises when SIGINT lands in this callback
r = weakref.ref(a, cb)
try:
    with atomic_file({str(out)!r}) as f:
        f.write("half")
        del a  # the callback runs; its exception is "ignored" by Python
        f.write(" and the rest")
except signals.Interrupted as exc:
    sys.exit(100 + exc.signum)
sys.exit(0)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 102, (proc.returncode, proc.stderr)
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert sorted(os.listdir(tmp_path)) == []  # no output, no temp file
