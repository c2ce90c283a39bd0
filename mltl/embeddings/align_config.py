"""Settings of ``mltl align``: the maths (:class:`AlignConfig`) and the job around it
(:class:`AlignJob`). Kept apart from :mod:`mltl.embeddings.align` so that the CLI can build
its options from them without importing numpy."""

from __future__ import annotations

from dataclasses import dataclass

from mltl.errors import InputError
from mltl.setting import setting

METHODS = ("supervised", "identical", "unsupervised")


@dataclass
class AlignConfig:
    """Knobs of the alignment; the defaults are the ones the benchmarks use (and ``mltl align``'s)."""

    method: str = setting(
        "unsupervised", flags=("--method", "-m"), help="supervised (needs --dict) | identical | unsupervised."
    )
    normalize: str = setting(
        "unit,center,unit", help="unit | center | unit,center,unit | none (applied before mapping, kept in the output)."
    )
    csls_k: int = setting(10, help="Neighbourhood size of CSLS.")
    refine_vocab: int = setting(20000, help="Words per language used to induce dictionaries during self-learning.")
    refine_direction: str = setting("mutual", cli=False)
    max_refine_iters: int = setting(
        10,
        flags="--max-iters",
        help=(
            "Max iterations of the final refinement (Procrustes + CSLS dictionary, every method; it stops earlier "
            "once the objective stops improving). Not the stochastic dictionary induction that --method "
            "unsupervised runs before it: that one ends by itself (at most 100 iterations)."
        ),
    )
    min_improvement: float = setting(1e-4, cli=False)  # objective gain that counts as "still improving"
    # Unsupervised initialisation (similarity distributions over the top words).
    unsup_vocab: int = setting(4000, cli=False)
    # Stochastic dictionary induction.
    stochastic_vocab: int = setting(10000, cli=False)
    stochastic_initial: float = setting(0.1, cli=False)
    stochastic_multiplier: float = setting(2.0, cli=False)
    stochastic_patience: int = setting(3, cli=False)  # iterations without improvement before p grows
    stochastic_max_iters: int = setting(100, cli=False)
    seed: int = setting(0, help="Random seed (unsupervised mode).")
    # Keep the seed pairs in every refined dictionary (None: only for supervised).
    # With weak vectors (small corpora), self-learning from induced pairs alone drifts
    # away from a good gold dictionary; adding the gold pairs back anchors it.
    keep_seed: bool | None = setting(None, cli=False)
    numerals_only: bool = setting(False, cli=False)  # identical method: numerals instead of all identical strings

    def check(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown alignment method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.refine_direction not in ("mutual", "union", "forward"):
            raise InputError(f"unknown dictionary direction {self.refine_direction!r}")


@dataclass
class AlignJob:
    """What ``mltl align`` reads and writes besides the maths (:class:`AlignConfig`)."""

    hub: str = setting("en", help="Language whose space the others are mapped into.", metavar="<lang>")
    langs: str | None = setting(
        None, help="Comma-separated language of each file (default: each file's stem, de.vec -> de).", metavar="<langs>"
    )
    dict_spec: str | None = setting(
        None,
        flags="--dict",
        metavar="<path>",
        help=(
            "Training dictionary (MUSE format 'src tgt' per line): a file (one non-hub language) or a directory "
            "with LANG-HUB*.txt files."
        ),
    )
    eval_dict: str | None = setting(
        None, metavar="<path>", help="Test dictionary file or directory: report BLI after alignment."
    )
    max_vocab: int = setting(200000, help="Keep the N most frequent words of each language (0 = all).")
    out_format: str = setting("vec", help="vec | npy | dir (compact binary loads in milliseconds).")
    dtype: str = setting("float32", help="float32 | float16 for npy/dir output.")


__all__ = ["METHODS", "AlignConfig", "AlignJob"]
