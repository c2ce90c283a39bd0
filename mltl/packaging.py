"""``mltl package``: a trained model directory as a pip-installable wheel (like ``spacy package``).

The wheel holds one Python package, ``NAME``, with the model directory in ``NAME/model/``,
a README card (languages, labels, the numbers of ``metrics.json``, zero-resource or not, data
and vector provenance) and ``provenance.json``. It requires the mltl version that wrote the
model and the plugin packages the model's config names, and declares the entry point
``mltl.models: NAME = NAME:model_dir`` — which is how ``mltl predict --model NAME`` and the
spaCy component (``config={"model": NAME}``) find it once installed.

The wheel is built by the standard frontend (``python -m build``) and setuptools backend,
without build isolation so that it works offline; it appears in the output directory only
when complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mltl import __version__, log
from mltl.errors import InputError
from mltl.langs import spacy_code

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_VERSION = re.compile(r"\d+(\.\d+)*([abc]|rc)?\d*(\.post\d+)?(\.dev\d+)?")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def provenance(cfg: Any) -> dict[str, Any]:
    """Where the model's data and vectors came from, as far as the files still say
    (``meta.json`` of each prepared dataset, ``alignment.json`` of the vectors)."""
    out: dict[str, Any] = {"data": cfg.data.data, "vectors": cfg.data.vectors, "datasets": {}, "alignment": None}
    for lang in [*cfg.data.sources, cfg.data.target]:
        meta = _read_json(Path(cfg.data.data) / lang / "meta.json") if cfg.data.data else None
        if isinstance(meta, dict):
            out["datasets"][lang] = {k: meta.get(k) for k in ("task", "format", "sources", "tokenizer", "splits")}
    if cfg.data.vectors:
        al = _read_json(Path(cfg.data.vectors) / "alignment.json")
        if isinstance(al, dict):
            out["alignment"] = {k: al.get(k) for k in ("hub", "method", "languages")}
    return out


def model_card(
    name: str,
    version: str,
    cfg: Any,
    metrics: dict[str, Any],
    labels: list[str],
    prov: dict[str, Any],
    license_text: str | None,
) -> str:
    """The README.md of the wheel: what the model is, how well it did, where it came from."""
    sources, target = ", ".join(cfg.data.sources), cfg.data.target
    zero = metrics.get("zero_resource", cfg.data.target_dev is None)
    lines = [
        f"# {name} {version}",
        "",
        f"An mltl {cfg.task} model ({cfg.model.arch}: MAN-MoE, Chen et al., ACL 2019) "
        f"for **{target}**, trained on labeled {sources}.",
        "",
        (
            "**Zero-resource**: no labeled data of the target language was used for training or model selection."
            if zero
            else "**Not zero-resource**: a labeled target dev set chose the model."
        ),
        "",
        "| | |",
        "|---|---|",
        f"| task | {cfg.task} |",
        f"| source languages (labeled) | {sources} |",
        f"| target language | {target} |",
        f"| labels | {', '.join(labels)} |",
        f"| mltl | {__version__} (model format of this version) |",
    ]
    if metrics:
        metric = metrics.get("metric", "score")
        best = metrics.get("best_score")
        if best is not None:
            lines.append(
                f"| selection | {metrics.get('selection')}: {metric} {best:.4f} at step "
                f"{metrics.get('best_step')} of {metrics.get('steps')} |"
            )
        for lang, v in (metrics.get("dev") or {}).items():
            lines.append(f"| source dev {metric}, {lang} | {v:.4f} |")
        for split, v in (metrics.get("target_eval") or {}).items():
            lines.append(f"| target {split} {metric} ({target} labels used only for this report) | {v:.4f} |")
    lines += [f"| licence | {license_text or 'not stated: check the licences of the training data'} |", ""]
    lines += [
        "## Use",
        "",
        "```bash",
        f"pip install {name}-{version}-py3-none-any.whl",
        f"mltl predict --model {name} text.{target}.txt",
        "```",
        "",
        "```python",
        "import spacy",
        "",
        f'nlp = spacy.blank("{spacy_code(target)}")',
        f'nlp.add_pipe("mltl", config={{"model": "{name}"}})',
        ("doc = nlp(TEXT); doc.ents" if cfg.task == "tagging" else "doc = nlp(TEXT); doc.cats"),
        "```",
        "",
        "## Provenance",
        "",
        f"- prepared data: `{prov.get('data')}`; aligned vectors: `{prov.get('vectors')}`",
    ]
    for lang, meta in prov.get("datasets", {}).items():
        files = [
            f"{s.get('path', '?')} (sha256 {str(s.get('sha256', '?'))[:12]}…)"
            for s in meta.get("sources") or []
            if isinstance(s, dict)
        ]
        lines.append(f"- {lang}: {meta.get('format')} → {', '.join(files) or 'files not recorded'}")
    al = prov.get("alignment")
    if al:
        lines.append(f"- vectors aligned to `{al.get('hub')}` by `{al.get('method')}`")
    lines.append("")
    return "\n".join(lines)


def _pyproject(name: str, version: str, description: str, requires: list[str], license_text: str | None) -> str:
    deps = ", ".join(json.dumps(r) for r in requires)
    lic = f"license = {{ text = {json.dumps(license_text)} }}\n" if license_text else ""
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = {json.dumps(description)}
readme = "README.md"
requires-python = ">=3.11"
dependencies = [{deps}]
{lic}
[project.entry-points."mltl.models"]
{name} = "{name}:model_dir"

[tool.setuptools]
packages = ["{name}"]

[tool.setuptools.package-data]
"{name}" = ["model/*", "model/**/*", "provenance.json"]
"""


_INIT = '''"""{description} (built by `mltl package`)."""

from pathlib import Path

__version__ = "{version}"


def model_dir() -> Path:
    """The model directory inside this package (what `mltl predict --model {name}` loads)."""
    return Path(__file__).parent / "model"


def load(device: str = "auto"):
    """The model, as `mltl.load_model` returns it."""
    from mltl.models.model import load_model

    return load_model(model_dir(), device=device)
'''


def package_model(
    model_dir: str | Path,
    out_dir: str | Path,
    name: str,
    version: str,
    *,
    license_text: str | None = None,
    force: bool = False,
) -> Path:
    """Build ``OUT_DIR/NAME-VERSION-py3-none-any.whl`` from a model directory; returns its path."""
    from mltl.models.model import load_model, resolve_model_dir

    if not _NAME.fullmatch(name):
        raise InputError(
            f"--name {name!r}: use lowercase letters, digits and _ (a Python package name), e.g. mltl_de_ner"
        )
    if not _VERSION.fullmatch(version):
        raise InputError(f"--version {version!r} is not a version number such as 1.0.0")
    src_dir = resolve_model_dir(model_dir)  # a directory, or an installed model package's
    model = load_model(src_dir, device="cpu")  # the same checks as predict: a model of this mltl version
    cfg = model.config
    out = Path(out_dir)
    wheel_name = f"{name}-{version}-py3-none-any.whl"
    if (out / wheel_name).exists() and not force:
        raise InputError("wheel exists; pass --force to replace it", path=out / wheel_name)
    metrics = _read_json(src_dir / "metrics.json") or {}
    prov = provenance(cfg)
    requires = [f"mltl=={__version__}"]
    for comp, pkg in sorted(cfg.plugins.items()):
        dist, _, ver = pkg.partition(" ")
        requires.append(f"{dist}=={ver}" if ver else dist)
    description = f"mltl {cfg.task} model for {cfg.data.target}, trained on {', '.join(cfg.data.sources)}"
    with tempfile.TemporaryDirectory(prefix=".mltl-package-") as tmp:
        root = Path(tmp) / "src"
        pkg_dir = root / name
        shutil.copytree(src_dir, pkg_dir / "model", ignore=shutil.ignore_patterns("*.tmp*", ".*"))
        (pkg_dir / "__init__.py").write_text(
            _INIT.format(name=name, version=version, description=description), encoding="utf-8"
        )
        (pkg_dir / "provenance.json").write_text(
            json.dumps(prov, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (root / "README.md").write_text(
            model_card(name, version, cfg, metrics, model.labels, prov, license_text), encoding="utf-8"
        )
        (root / "pyproject.toml").write_text(
            _pyproject(name, version, description, requires, license_text), encoding="utf-8"
        )
        dist = Path(tmp) / "dist"
        log.info(f"building {wheel_name} (python -m build --wheel)")
        proc = subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(root)],
            capture_output=True,
            text=True,
        )
        built = dist / wheel_name
        if proc.returncode != 0 or not built.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise InputError(f"building the wheel failed: {tail[0]}", path=src_dir)
        out.mkdir(parents=True, exist_ok=True)
        part = out / f".{wheel_name}.part"
        shutil.copy2(built, part)
        os.replace(part, out / wheel_name)  # the wheel appears whole or not at all
    return out / wheel_name


__all__ = ["package_model", "model_card", "provenance"]
