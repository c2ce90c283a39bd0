"""Drive a running Label Studio through its SDK (label-studio-sdk), as a labeling team would.

Runs with the Python that has ``label-studio-sdk`` (the Label Studio virtualenv; mltl's own
environment does not need it). Used by tests/test_labelstudio_server.py and
examples/labeling/*.sh:

  python ls_client.py URL TOKEN create CONFIG.xml TITLE            -> prints the project id
  python ls_client.py URL TOKEN import PROJECT TASKS.json          -> prints the number imported
  python ls_client.py URL TOKEN tasks PROJECT OUT.json             -> the project's tasks, as stored
  python ls_client.py URL TOKEN annotate PROJECT [--relabel L] [--skip N]
        stands in for the people: every task gets an annotation equal to its prediction, except that
        the first span of the first task with a span is relabeled L, and the last N tasks are
        skipped (cancelled)
  python ls_client.py URL TOKEN export PROJECT OUT.json            -> the JSON export, all tasks
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from label_studio_sdk import LabelStudio

    url, token, cmd, *rest = argv
    ls = LabelStudio(base_url=url, api_key=token, timeout=120)
    if cmd == "create":
        config, title = Path(rest[0]).read_text(encoding="utf-8"), rest[1]
        print(ls.projects.create(title=title, label_config=config).id)
    elif cmd == "import":
        tasks = json.loads(Path(rest[1]).read_text(encoding="utf-8"))
        ls.projects.import_tasks(id=int(rest[0]), request=tasks, commit_to_project=True)
        print(len(tasks))
    elif cmd == "tasks":
        out = [_task(t) for t in ls.tasks.list(project=int(rest[0]), fields="all")]
        Path(rest[1]).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    elif cmd == "annotate":
        relabel = rest[rest.index("--relabel") + 1] if "--relabel" in rest else None
        skip = int(rest[rest.index("--skip") + 1]) if "--skip" in rest else 0
        tasks = sorted(ls.tasks.list(project=int(rest[0]), fields="all"), key=lambda t: t.id)
        for i, t in enumerate(tasks):
            if i >= len(tasks) - skip:
                ls.annotations.create(id=t.id, result=[], was_cancelled=True)
                continue
            result = [dict(r) for r in (_task(t)["predictions"][0]["result"] if t.predictions else [])]
            for r in result:
                r.pop("score", None)
            if relabel and result:
                result[0] = {**result[0], "value": {**result[0]["value"], "labels": [relabel]}}
                relabel = None
            ls.annotations.create(id=t.id, result=result, was_cancelled=False)
        print(len(tasks))
    elif cmd == "export":
        chunks = ls.projects.exports.download_sync(int(rest[0]), export_type="JSON", download_all_tasks=True)
        Path(rest[1]).write_bytes(b"".join(chunks))
    else:
        print(f"unknown command {cmd!r}", file=sys.stderr)
        return 2
    return 0


def _task(t) -> dict:
    """A task as plain JSON (the SDK returns pydantic models)."""
    d = t.model_dump(mode="json") if hasattr(t, "model_dump") else dict(t)
    preds = d.get("predictions") or []
    d["predictions"] = [p if isinstance(p, dict) else {"result": []} for p in preds]
    return d


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
