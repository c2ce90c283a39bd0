"""Issue 19, part 6: the labeling loop against a real, local Label Studio (not a mock).

The test starts `label-studio` on 127.0.0.1 (a free port, a throwaway data dir, bounded waits),
runs examples/labeling/round.sh — the script docs/labeling.md shows — to select and import
pre-annotated tasks, lets the SDK stand in for the people who correct them
(tests/integration/ls_client.py), then runs the script's `collect` step: export → `mltl prepare
--format labelstudio` → `mltl train --target-train`.

Label Studio lives in its own virtualenv (it pins its own Django stack): set MLTL_LABEL_STUDIO to
that venv's bin directory (.ci/run makes one). Without it the test is skipped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.integration

LS_BIN = os.environ.get("MLTL_LABEL_STUDIO")
TOKEN = "mltl-test-token-0123456789"
CLIENT = ROOT / "tests" / "integration" / "ls_client.py"
ROUND = ROOT / "examples" / "labeling" / "round.sh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    if not LS_BIN or not (Path(LS_BIN) / "label-studio").exists():
        pytest.skip("MLTL_LABEL_STUDIO (a virtualenv bin dir with label-studio and label-studio-sdk) is not set")
    data = tmp_path_factory.mktemp("ls-data")
    port = _free_port()
    log = open(data / "server.log", "w")
    env = {**os.environ, "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true", "HOME": str(data)}
    proc = subprocess.Popen(
        [
            str(Path(LS_BIN) / "label-studio"),
            "start",
            "--no-browser",
            "--data-dir",
            str(data),
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(port),
            "--username",
            "annotator@example.org",
            "--password",
            "mltl-test-pass",
            "--user-token",
            TOKEN,
            "--enable-legacy-api-token",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its whole process group is stopped below
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # first start runs the database migrations (~75 s here)
        while True:
            if proc.poll() is not None:
                pytest.fail(f"label-studio exited with {proc.returncode}: {(data / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("label-studio did not answer /health within 300 s")
            time.sleep(2)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass  # the server exited on its own (its log is in the failure above)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


def _client(url: str, *args) -> str:
    p = subprocess.run(
        [str(Path(LS_BIN) / "python"), str(CLIENT), url, TOKEN, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def _round(step: str, env: dict) -> subprocess.CompletedProcess:
    p = subprocess.run(["bash", str(ROUND), step], capture_output=True, text=True, env=env, timeout=900)
    assert p.returncode == 0, f"round.sh {step}: {p.stdout[-2000:]}\n{p.stderr[-3000:]}"
    return p


def test_the_labeling_loop_round_trips_through_label_studio(label_studio, example_chain, tmp_path):
    model = example_chain / "model" / "model-best"
    pool = tmp_path / "pool.de.txt"
    blocks = (EXAMPLES / "ner" / "de" / "train.txt").read_text(encoding="utf-8").strip().split("\n\n")
    pool.write_text("".join(" ".join(ln.split()[0] for ln in b.splitlines()) + "\n" for b in blocks), encoding="utf-8")
    work = tmp_path / "loop"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # this venv's mltl
        "LS_URL": label_studio,
        "LS_TOKEN": TOKEN,
        "WORK": str(work),
        "MODEL": str(model),
        "POOL": str(pool),
        "TARGET": "de",
        "N": "6",
        "TRAIN_CONFIG": str(example_chain / "model" / "config.json"),
        "TRAIN_ARGS": "--max-steps 4 --seed 1",  # the rest (tiny model) comes from the chain's config
    }
    # round 1, send: a project with the model's labels, 6 pre-annotated tasks in it
    _round("send", env)
    project = int((work / "project").read_text())
    sent = json.loads((work / "batch.json").read_text(encoding="utf-8"))
    assert len(sent) == 6
    _client(label_studio, "tasks", project, tmp_path / "stored.json")
    stored = sorted(json.loads((tmp_path / "stored.json").read_text(encoding="utf-8")), key=lambda t: t["id"])
    # Label Studio kept every task's text and mltl's prediction (spans, labels, scores) as sent
    assert [t["data"]["text"] for t in stored] == [t["data"]["text"] for t in sent]
    for t, s in zip(stored, sent):
        (p,) = t["predictions"]
        assert p["model_version"] == s["predictions"][0]["model_version"]
        assert p.get("score") == pytest.approx(s["predictions"][0].get("score"))
        assert [r["value"] for r in p["result"]] == [r["value"] for r in s["predictions"][0]["result"]]
    config = (work / "config.xml").read_text(encoding="utf-8")
    labels = [lab for lab in ("LOC", "MISC", "ORG", "PER") if f'"{lab}"' in config]
    assert labels, config
    # the people: accept the predictions, relabel the first span, skip the last task
    first = next(i for i, t in enumerate(sent[:5]) if t["predictions"][0]["result"])
    relabel = next(lab for lab in labels if lab != sent[first]["predictions"][0]["result"][0]["value"]["labels"][0])
    _client(label_studio, "annotate", project, "--relabel", relabel, "--skip", "1")
    # collect: export -> prepare -> train with the corrections
    _round("collect", env)
    back = [json.loads(x) for x in (work / "labeled" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in back] == [t["data"]["text"] for t in sent[:5]]  # the skipped one is left out
    meta = json.loads((work / "labeled" / "meta.json").read_text(encoding="utf-8"))
    assert meta["tasks_skipped"] == 1 and meta["spans_snapped"] == 0
    # the spans came back on the same characters, with the person's label where it was changed
    for i, (r, t) in enumerate(zip(back, sent)):
        from mltl.data.schemes import to_spans

        pos = 0
        offsets = []
        for tok in r["tokens"]:
            start = r["text"].index(tok, pos)
            offsets.append((start, start + len(tok)))
            pos = start + len(tok)
        got = [(offsets[s][0], offsets[e - 1][1], lab) for lab, s, e in to_spans(r["tags"])]
        want = [
            (x["value"]["start"], x["value"]["end"], x["value"]["labels"][0]) for x in t["predictions"][0]["result"]
        ]
        if i == first:
            want[0] = (want[0][0], want[0][1], relabel)
        assert got == want, (i, r["text"])
    metrics = json.loads((work / "round-1" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["zero_resource"] is False and metrics["target_train"] == 5
    assert (work / "model").read_text().strip() == str(work / "round-1" / "model-best")
    # round 2 starts from the new model and never re-sends what was labeled
    _round("send", env)
    again = json.loads((work / "batch.json").read_text(encoding="utf-8"))
    assert not {t["data"]["text"] for t in again} & {r["text"] for r in back}
    assert all("round-1/model-best" in t["predictions"][0]["model_version"] for t in again)
