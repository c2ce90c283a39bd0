"""Map every language's vectors into one shared space with orthogonal maps.

Pipeline per non-hub language ``src`` -> hub ``tgt`` (all maths on
unit,center,unit-normalised vectors, where cosine is a dot product):

1. **Seed dictionary**
   * ``supervised``: pairs of a MUSE dictionary found in both vocabularies;
   * ``identical``: words spelled the same in both (names, numbers, code);
   * ``unsupervised``: no dictionary at all. Each of the top ~4k words is described
     by its *sorted* similarity distribution to the other top words; computed
     from ``sqrt(X X^T) = U S U^T`` (``X = U S V^T``), this description does not
     depend on how the space is rotated, so equivalent words in two isometric
     spaces get similar descriptions and can be matched by nearest neighbour
     (Artetxe et al., 2018, "A robust self-learning method for fully unsupervised
     cross-lingual mappings of word embeddings").
     Then **stochastic dictionary induction**: self-learning in which each
     similarity is kept with probability ``p`` (0.1 at first, doubled whenever the
     objective stops improving, until 1), so early noisy dictionaries do not lock
     the mapping into a poor local optimum.
2. **Self-learning refinement** (all methods): Procrustes on the dictionary ->
   map -> new dictionary of mutual nearest neighbours under CSLS among the
   ``refine_vocab`` most frequent words of each language -> repeat while the
   objective (mean cosine of best matches) improves.

The hub's vectors are only normalised; the others are normalised and rotated.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mltl import log
from mltl.embeddings.align_config import AlignConfig, AlignJob
from mltl.embeddings.dictionary import identical_seed, to_indices
from mltl.embeddings.mapping import orthogonality_error, procrustes
from mltl.embeddings.vectors import Vectors, check_same_dim, normalize
from mltl.errors import InputError


@dataclass
class PairReport:
    """What happened while aligning one language to the hub (goes to alignment.json)."""

    src: str
    tgt: str
    method: str
    seed_pairs: int = 0
    dictionary_sizes: list[int] = field(default_factory=list)
    objective: list[float] = field(default_factory=list)
    stochastic_keep_prob: list[float] = field(default_factory=list)
    iterations: int = 0
    orthogonality_error: float = 0.0
    seconds: float = 0.0
    dictionary_file: str | None = None
    dictionary_pairs_total: int | None = None


def _t(m: np.ndarray, dev: Any) -> Any:
    from mltl.embeddings.similarity import as_tensor

    return as_tensor(m, dev)


def unsupervised_seed(X: Any, Z: Any, n: int = 4000, csls_k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Initial dictionary from similarity distributions (no bilingual signal at all).

    ``X``/``Z`` are torch tensors of normalised vectors, most frequent first;
    only the first ``n`` rows of each are used. Returns index pairs (union of both
    directions of CSLS nearest neighbours between the two descriptions).
    """
    import torch

    from mltl.embeddings.similarity import induce_exact, pairs_from

    def describe(M: Any) -> Any:
        # sqrt of the similarity matrix M M^T is U S U^T: cheaper and better
        # behaved than M M^T itself (the paper's observation), rotation-invariant.
        U, S, _ = torch.linalg.svd(M.to(torch.float64), full_matrices=False)
        D = ((U * S) @ U.T).sort(dim=1).values.to(torch.float32)
        return _tensor_normalize(D)

    n = min(n, X.shape[0], Z.shape[0])
    dx, dz = describe(X[:n]), describe(Z[:n])
    res = induce_exact(dx, dz, csls_k=csls_k)
    si, ti, _ = pairs_from(res, "union")
    return si, ti


def _tensor_normalize(D: Any) -> Any:
    """unit, center, unit on a torch tensor."""
    D = D / D.norm(dim=1, keepdim=True).clamp_min(1e-12)
    D = D - D.mean(dim=0, keepdim=True)
    return D / D.norm(dim=1, keepdim=True).clamp_min(1e-12)


def self_learning(
    X: Any,
    Z: Any,
    si: np.ndarray,
    ti: np.ndarray,
    cfg: AlignConfig,
    report: PairReport,
    stochastic: bool = False,
    anchor: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Alternate Procrustes and dictionary induction; returns the final dictionary.

    ``stochastic``: the unsupervised phase (union dictionaries over
    ``stochastic_vocab`` words, similarities dropped with probability 1 - p,
    CSLS neighbourhoods from the previous pass to save one pass per iteration).
    Otherwise the refinement phase (exact CSLS, ``refine_direction`` pairs over
    ``refine_vocab`` words), which stops at the first non-improving iteration.
    ``anchor``: pairs added to every induced dictionary (the gold seed); the
    objective is then the CSLS top-1 accuracy on those pairs.
    """
    import torch

    from mltl.embeddings.similarity import induce, induce_exact, pairs_from

    gen = torch.Generator(device=X.device)
    gen.manual_seed(cfg.seed)
    vocab = cfg.stochastic_vocab if stochastic else cfg.refine_vocab
    nx, nz = min(vocab, X.shape[0]), min(vocab, Z.shape[0])
    Xk, Zk = X[:nx], Z[:nz]
    best_obj, best = -float("inf"), (si, ti)
    gold: dict[int, set[int]] | None = None
    if anchor is not None:
        gold = {}
        for i, j in zip(anchor[0].tolist(), anchor[1].tolist()):
            if i < nx and j < nz:
                gold.setdefault(i, set()).add(j)
        gold = gold or None
    keep = cfg.stochastic_initial if stochastic else 1.0
    since_improved = 0
    r_z = None  # CSLS neighbourhoods of the hub side, from the previous pass
    max_iters = cfg.stochastic_max_iters if stochastic else cfg.max_refine_iters
    for _ in range(max_iters):
        W = torch.from_numpy(procrustes(X[torch.from_numpy(si).to(X.device)], Z[torch.from_numpy(ti).to(Z.device)])).to(
            X.device
        )
        Xm = Xk @ W
        if stochastic:
            res = induce(Xm, Zk, csls_k=cfg.csls_k, r_z=r_z, keep_prob=keep, generator=gen)
            r_z = res["r_z"]
            new_si, new_ti, obj = pairs_from(res, "union")
        else:
            res = induce_exact(Xm, Zk, csls_k=cfg.csls_k)
            new_si, new_ti, obj = pairs_from(res, cfg.refine_direction)
            if gold is not None:
                # With a gold seed dictionary, the objective is how many of its source
                # words retrieve a gold translation (CSLS top-1): unlike mean cosine,
                # it falls when refinement drifts away from real translations.
                fwd = res["fwd"].cpu().numpy()
                hits = [fwd[i] in g for i, g in gold.items()]
                obj = float(np.mean(hits)) if hits else obj
        report.iterations += 1
        report.objective.append(round(obj, 6))
        report.dictionary_sizes.append(int(len(new_si)))
        if stochastic:
            report.stochastic_keep_prob.append(keep)
        log.debug(
            f"{report.src}->{report.tgt} iter {report.iterations}: objective {obj:.5f}, "
            f"{len(new_si)} pairs, p={keep:.2f}"
        )
        improved = obj - best_obj >= cfg.min_improvement
        if obj > best_obj:
            # Keep the dictionary that *produced* this mapping: re-solving
            # Procrustes on it reproduces the best mapping seen exactly.
            best_obj, best = obj, (si, ti)
        if len(new_si) == 0:
            break
        if anchor is not None:
            new_si, new_ti = np.concatenate([anchor[0], new_si]), np.concatenate([anchor[1], new_ti])
        si, ti = new_si, new_ti
        if improved:
            since_improved = 0
            continue
        if not stochastic:
            break
        since_improved += 1
        if since_improved >= cfg.stochastic_patience:
            if keep >= 1.0:
                break
            keep = min(1.0, keep * cfg.stochastic_multiplier)
            since_improved = 0
    # Refinement returns the best; the stochastic phase hands its last dictionary on.
    return best if not stochastic else (si, ti)


def align_pair(
    src_vecs: Vectors,
    tgt_vecs: Vectors,
    cfg: AlignConfig,
    *,
    src: str = "src",
    tgt: str = "tgt",
    pairs: list[tuple[str, str]] | None = None,
    dict_path: str | None = None,
    X: Any = None,
    Z: Any = None,
) -> tuple[np.ndarray, PairReport]:
    """Orthogonal ``W`` (float32, dim x dim) mapping normalised ``src`` into ``tgt``'s space.

    ``X``/``Z`` may be given as already-normalised torch tensors (the hub's is
    shared between languages); otherwise they are normalised here.
    """
    import torch

    from mltl.embeddings.similarity import device

    cfg.check()
    t0 = time.perf_counter()
    dev = device()
    if X is None:
        X = _t(normalize(src_vecs.matrix, cfg.normalize), dev)
    if Z is None:
        Z = _t(normalize(tgt_vecs.matrix, cfg.normalize), dev)
    report = PairReport(src=src, tgt=tgt, method=cfg.method, dictionary_file=dict_path)
    if cfg.method == "supervised":
        if pairs is None:
            raise InputError(f"--method supervised needs a dictionary for {src}-{tgt} (--dict)")
        report.dictionary_pairs_total = len(pairs)
        si, ti = to_indices(pairs, src_vecs.index, tgt_vecs.index, path=dict_path, what=f"{src}-{tgt} dictionary")
    elif cfg.method == "identical":
        si, ti = identical_seed(src_vecs.words, tgt_vecs.words, numerals_only=cfg.numerals_only)
        if len(si) == 0:
            raise InputError(
                f"{src}-{tgt}: no identical {'numerals' if cfg.numerals_only else 'strings'} "
                f"in the two vocabularies; use --method unsupervised or a --dict"
            )
    else:
        with torch.no_grad():
            si, ti = unsupervised_seed(X, Z, n=cfg.unsup_vocab, csls_k=cfg.csls_k)
    report.seed_pairs = int(len(si))
    log.info(f"{src}->{tgt}: {cfg.method} seed dictionary of {len(si)} pairs")
    with torch.no_grad():
        if cfg.method == "unsupervised":
            si, ti = self_learning(X, Z, si, ti, cfg, report, stochastic=True)
        keep_seed = cfg.keep_seed if cfg.keep_seed is not None else cfg.method == "supervised"
        si, ti = self_learning(X, Z, si, ti, cfg, report, stochastic=False, anchor=(si, ti) if keep_seed else None)
        W = procrustes(X[torch.from_numpy(si).to(X.device)], Z[torch.from_numpy(ti).to(Z.device)])
    report.orthogonality_error = orthogonality_error(W)
    report.seconds = round(time.perf_counter() - t0, 3)
    log.info(
        f"{src}->{tgt}: {report.iterations} iterations, final dictionary "
        f"{report.dictionary_sizes[-1] if report.dictionary_sizes else len(si)} pairs, "
        f"objective {report.objective[-1] if report.objective else float('nan'):.4f}, "
        f"{report.seconds:.1f} s"
    )
    return W, report


def align(
    vectors_by_lang: dict[str, Vectors],
    hub: str = "en",
    method: str | None = None,
    dicts: dict[str, list[tuple[str, str]]] | None = None,
    dict_paths: dict[str, str] | None = None,
    config: AlignConfig | None = None,
) -> tuple[dict[str, Vectors], dict[str, Any]]:
    """Map every non-hub language into the hub's space.

    ``dicts`` maps a language to its ``(word, hub_word)`` pairs (needed for
    ``supervised``). Returns the normalised, mapped vectors per language (the
    hub's only normalised) and a report; everything in it is JSON-ready except
    ``report["mappings"]``, the dim x dim numpy matrix ``W`` of each language
    (``normalize(X) @ W`` is in the hub's space).
    """
    # a copy: the caller's config is not changed by the method given here (None: the config's)
    cfg = dataclasses.replace(config or AlignConfig(), method=method or (config or AlignConfig()).method)
    cfg.check()
    if hub not in vectors_by_lang:
        raise InputError(
            f"hub language {hub!r} is not among the inputs ({', '.join(vectors_by_lang)}); "
            f"pass its vectors or choose --hub"
        )
    if len(vectors_by_lang) < 2:
        raise InputError("alignment needs the hub and at least one other language")
    check_same_dim(vectors_by_lang)
    from mltl.embeddings.similarity import device

    t0 = time.perf_counter()
    dev = device()
    hub_norm = normalize(vectors_by_lang[hub].matrix, cfg.normalize)
    Z = _t(hub_norm, dev)
    out: dict[str, Vectors] = {hub: vectors_by_lang[hub].with_matrix(hub_norm)}
    reports = []
    mappings: dict[str, np.ndarray] = {}
    for lang, vecs in vectors_by_lang.items():
        if lang == hub:
            continue
        X_np = normalize(vecs.matrix, cfg.normalize)
        W, rep = align_pair(
            vecs,
            vectors_by_lang[hub],
            cfg,
            src=lang,
            tgt=hub,
            pairs=(dicts or {}).get(lang),
            dict_path=(dict_paths or {}).get(lang),
            X=_t(X_np, dev),
            Z=Z,
        )
        out[lang] = vecs.with_matrix(X_np @ W)
        mappings[lang] = W
        reports.append(asdict(rep))
    report = {
        "hub": hub,
        "method": cfg.method,
        "config": asdict(cfg),
        "device": str(dev),
        "languages": {lang: {"path": v.path, "words": len(v), "dim": v.dim} for lang, v in vectors_by_lang.items()},
        "pairs": reports,
        "seconds": round(time.perf_counter() - t0, 3),
        "mappings": mappings,
    }
    return out, report


def run_align(
    files: list[str],
    output: str,
    job: AlignJob | None = None,
    config: AlignConfig | None = None,
    *,
    force: bool = False,
) -> dict[str, Any]:
    """What ``mltl align`` does: load, align, optionally evaluate, write atomically.

    Every check that can fail cheaply (languages, hub, method, dictionaries,
    output directory) runs before the vectors are loaded; the output directory
    appears only once all files are written.
    """
    import json
    from pathlib import Path

    from mltl.embeddings.bli import evaluate_bli
    from mltl.embeddings.dictionary import find_dictionary, read_dictionary
    from mltl.embeddings.vectors import NORMALIZATIONS, lang_of, load_vectors, save_vectors
    from mltl.files import atomic_dir

    t0 = time.perf_counter()
    job = job or AlignJob()
    cfg = config or AlignConfig()
    hub, langs, dict_spec, eval_dict = job.hub, job.langs, job.dict_spec, job.eval_dict
    method, out_format = cfg.method, job.out_format
    cfg.check()
    if cfg.normalize not in NORMALIZATIONS:
        raise InputError(f"unknown --normalize {cfg.normalize!r}; choose one of {', '.join(NORMALIZATIONS)}")
    if out_format not in ("vec", "npy", "dir"):
        raise InputError(f"unknown --out-format {out_format!r}; choose vec, npy or dir")
    codes = [c.strip() for c in langs.split(",")] if langs else [lang_of(f) for f in files]
    if len(codes) != len(files):
        raise InputError(f"--langs names {len(codes)} languages for {len(files)} files")
    if len(set(codes)) != len(codes):
        dup = next(c for c in codes if codes.count(c) > 1)
        raise InputError(f"language {dup!r} given twice; name files LANG.vec or pass --langs")
    if hub not in codes:
        raise InputError(
            f"hub language {hub!r} is not among the inputs ({', '.join(codes)}); pass its vectors or choose --hub"
        )
    if len(codes) < 2:
        raise InputError("alignment needs the hub and at least one other language")
    out = Path(output)
    if out.exists() and not force:
        raise InputError("output directory exists; pass --force to overwrite it", path=out)
    others = [c for c in codes if c != hub]
    dicts: dict[str, list[tuple[str, str]]] = {}
    dict_paths: dict[str, str] = {}
    if method == "supervised":
        if dict_spec is None:
            raise InputError("--method supervised needs --dict (a file, or a directory of LANG-HUB*.txt)")
        if Path(dict_spec).is_file() and len(others) > 1:
            raise InputError(
                "--dict is one file but several languages are aligned; give a directory with LANG-HUB*.txt files",
                path=dict_spec,
            )
        for c in others:
            path = find_dictionary(dict_spec, c, hub, prefer="train")
            dicts[c], dict_paths[c] = read_dictionary(path), str(path)
    if eval_dict and Path(eval_dict).is_file() and len(others) > 1:
        raise InputError(
            "--eval-dict is one file but several languages are aligned; give a directory with LANG-HUB*.txt files",
            path=eval_dict,
        )
    eval_paths = {c: find_dictionary(eval_dict, c, hub, prefer="test") for c in others} if eval_dict else {}
    vectors = {}
    for c, f in zip(codes, files):
        vectors[c] = load_vectors(f, max_vocab=job.max_vocab or None)
        log.info(f"{c}: {len(vectors[c]):,} x {vectors[c].dim} from {f}")
    mapped, report = align(vectors, hub=hub, dicts=dicts, dict_paths=dict_paths, config=cfg)
    mappings = report.pop("mappings")
    if eval_paths:
        report["bli"] = {}
        for c, path in eval_paths.items():
            res = evaluate_bli(mapped[c], mapped[hub], read_dictionary(path), dict_path=path, csls_k=cfg.csls_k)
            report["bli"][c] = {"dictionary": str(path), **res}
            log.info(
                f"{c}->{hub} BLI: P@1 nn {res['nn']['p@1']:.2f}, csls {res['csls']['p@1']:.2f} "
                f"({res['queries']} queries, coverage {res['coverage']:.1f}%)"
            )
    suffix = {"vec": ".vec", "npy": ".npy", "dir": ""}[out_format]
    report["outputs"] = {c: f"{c}{suffix}" for c in codes}
    report["seconds"] = round(time.perf_counter() - t0, 3)
    with atomic_dir(out, force=force) as tmp:
        for c in codes:
            save_vectors(mapped[c], tmp / f"{c}{suffix}", format=out_format, dtype=job.dtype)
        (tmp / "mappings").mkdir()
        for c, W in mappings.items():
            np.save(tmp / "mappings" / f"{c}-{hub}.npy", W)
        (tmp / "alignment.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report
