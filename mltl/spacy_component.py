"""mltl as a spaCy pipeline component: ``nlp.add_pipe("mltl", config={"model": ...})``.

Registered through spaCy's own entry point group ``spacy_factories`` (pyproject.toml), so
spaCy finds the factory ``mltl`` as soon as mltl is installed. A tagging model sets
``doc.ents``, a classification model ``doc.cats``.

How mltl's tokens meet the Doc's: mltl tokenizes ``doc.text`` itself, exactly as ``mltl
predict`` does on raw text (one sequence per line of the text, the model language's
tokenizer), and turns its entities into character spans; each becomes a ``Span`` through
``doc.char_span(..., alignment_mode="strict")``. So the component works after any spaCy
tokenizer; an entity whose characters do not start and end on the Doc's token boundaries is
dropped and counted (``component.dropped``, one warning per batch on the ``mltl`` logger),
never an exception.

Serialisation: the component's config holds a *reference* (``model``: a model directory or
the name of a package built by ``mltl package``); ``nlp.to_disk`` also copies the model
directory (and ``vectors`` of a zero-shot language) into the pipeline, and ``spacy.load``
reads that copy, so a saved pipeline works where the original paths do not exist.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from mltl import log
from mltl.device import DEFAULT_DEVICE
from mltl.errors import InputError

if not Span.has_extension("mltl_score"):
    Span.set_extension("mltl_score", default=None)
if not Doc.has_extension("mltl_scores"):
    Doc.set_extension("mltl_scores", default=None)

DEFAULT_CONFIG: dict[str, Any] = {
    "model": None,
    "batch_size": 64,
    "device": DEFAULT_DEVICE,
    "scores": False,
    "lang": None,
    "vectors": None,
}
_MODEL_SUBDIR = "model"


@Language.factory("mltl", default_config=DEFAULT_CONFIG)
def make_mltl(
    nlp: Language,
    name: str,
    model: str | None,
    batch_size: int,
    device: str,
    scores: bool,
    lang: str | None,
    vectors: str | None,
) -> MltlComponent:
    """spaCy factory ``mltl``: see :class:`MltlComponent`."""
    return MltlComponent(
        nlp, name, model=model, batch_size=batch_size, device=device, scores=scores, lang=lang, vectors=vectors
    )


class MltlComponent:
    """Tags (``doc.ents``) or classifies (``doc.cats``) with an mltl model.

    ``lang``: the language of the texts (default: ``nlp.lang`` when the model knows it, else the
    model's target). ``vectors``: aligned vectors of a language the model has not seen — as
    ``mltl predict --lang L --vectors FILE`` (zero-shot). ``scores``: write confidences into
    ``span._.mltl_score`` (mean probability of the span's predicted tags) and
    ``doc._.mltl_scores`` (``{"score": …}``: the sentence score of ``mltl predict --scores``,
    or of the predicted label).
    """

    def __init__(
        self,
        nlp: Language,
        name: str = "mltl",
        *,
        model: str | None,
        batch_size: int = 64,
        device: str = DEFAULT_DEVICE,
        scores: bool = False,
        lang: str | None = None,
        vectors: str | None = None,
    ) -> None:
        self.name = name
        self.nlp_lang = nlp.lang
        self.model_ref = model
        self.batch_size = batch_size
        self.device = device
        self.scores = scores
        self.lang = lang
        self.vectors = vectors
        self.dropped = 0
        self._model: Any = None
        self._model_dir: Path | None = None
        self._tokenizer: Any = None
        if model is None:
            raise InputError('the mltl component needs config={"model": MODEL_DIR or PACKAGE}')

    # -- loading -----------------------------------------------------------------------------
    def _load(self, model_dir: Path, vectors: str | Path | None) -> None:
        from mltl.models.model import load_model
        from mltl.text.tokenize import get_tokenizer

        m = load_model(model_dir, device=self.device)
        lang = self.lang or (self.nlp_lang if self.nlp_lang in m.languages else m.config.data.target)
        if vectors is not None:
            if self.lang is None:
                raise InputError('"vectors" (a zero-shot language) needs "lang" in the mltl component config')
            m.add_language(lang, vectors)
        m.check_lang(lang)
        self._model, self._model_dir, self._lang = m, Path(model_dir), lang
        self._tokenizer = get_tokenizer(lang)

    @property
    def mltl_model(self) -> Any:
        """The :class:`mltl.models.model.Model`, loaded at first use.

        Not called ``model``: spaCy probes components for a ``model`` attribute (its
        ``ListenedToComponent`` protocol, with ``hasattr``) while it builds a pipeline, and a
        lazy load there would read the config's reference even when ``from_disk`` follows."""
        if self._model is None:
            from mltl.models.model import resolve_model_dir

            self._load(resolve_model_dir(str(self.model_ref)), self.vectors)
        return self._model

    # -- prediction --------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc], batch_size=1)))

    def pipe(self, stream: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        for docs in minibatch(stream, size=batch_size or self.batch_size):
            yield from self._predict(list(docs))

    def _predict(self, docs: list[Doc]) -> list[Doc]:
        from mltl.predict import entities, items_from_text, sentence_score

        model = self.mltl_model
        token_level = model.task.token_level
        per_doc = [items_from_text(doc.text, self._tokenizer, split_lines=token_level) for doc in docs]
        flat = [it for items in per_doc for it in items]
        preds = model.predict_batch(
            self._lang, [it.tokens for it in flat], batch_size=256, scores=self.scores and token_level
        )
        dropped = 0
        k = 0
        for doc, items in zip(docs, per_doc):
            mine = preds[k : k + len(items)]
            k += len(items)
            if token_level:
                spans: list[Span] = []
                probs: list[float] = []
                tags: list[str] = []
                for it, pred in zip(items, mine):
                    probs.extend(pred.get("tag_probs", []))
                    tags.extend(pred.get("tags", []))
                    for ent in entities(it, pred["tags"], model.scheme):
                        span = doc.char_span(ent["start"], ent["end"], label=ent["label"], alignment_mode="strict")
                        if span is None:
                            dropped += 1
                            continue
                        if self.scores:
                            p = pred["tag_probs"][ent["token_start"] : ent["token_end"]]
                            span._.mltl_score = sum(p) / len(p)
                        spans.append(span)
                doc.set_ents(spans, default="outside")
                if self.scores:
                    doc._.mltl_scores = {
                        "score": sentence_score(probs, tags),
                        "ents": [s._.mltl_score for s in spans],
                    }
            else:
                pred = mine[0] if mine else model.task.empty_prediction()
                doc.cats = {lab: float(p) for lab, p in (pred.get("probs") or {}).items()}
                if self.scores:
                    doc._.mltl_scores = {
                        "score": max(doc.cats.values()) if doc.cats else None,
                        "label": pred.get("label"),
                    }
        if dropped:
            self.dropped += dropped
            log.warning(
                f"mltl component: {dropped} entit{'y' if dropped == 1 else 'ies'} did not fall on the "
                f"Doc's token boundaries and {'was' if dropped == 1 else 'were'} dropped "
                f"({self.dropped} so far)"
            )
        return docs

    # -- serialisation -----------------------------------------------------------------------
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Copy the model directory (and a zero-shot language's vectors) into ``path``."""
        _ = self.mltl_model  # resolve and check the reference now, not when the copy is loaded
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        assert self._model_dir is not None
        target = path / _MODEL_SUBDIR
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self._model_dir, target)
        if self.vectors is not None:
            src = Path(self.vectors)
            dst = path / ("vectors" + "".join(src.suffixes))
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> MltlComponent:
        """Load the copy :meth:`to_disk` wrote (the config's reference is not needed then)."""
        path = Path(path)
        vectors = next(iter(sorted(path.glob("vectors*"))), None) if self.vectors is not None else None
        self._load(path / _MODEL_SUBDIR, vectors)
        return self


__all__ = ["MltlComponent", "make_mltl"]
