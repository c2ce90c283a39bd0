"""Tokens → tensors: per-language vocabularies, the shared char vocabulary, batches.

A corpus is encoded once (at load time) into numpy arrays: its distinct word
forms, each form's word id and char ids, and every sentence as form ids. A batch
is then pure array indexing, no Python loop over tokens, and the CharCNN sees
each distinct form of the batch once (``np.unique``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Sequence

import numpy as np

PAD_WORD, UNK_WORD = "<pad>", "<unk>"
PAD, UNK = 0, 1


def char_lowercasing(model_cfg) -> bool | set[str]:
    """The config's two settings as one: ``True`` (``--lowercase-chars``: every language), else
    the languages of ``--char-lowercase``."""
    return model_cfg.lowercase_chars or set(model_cfg.char_lowercase)


def chars_lowercased(setting: bool | Collection[str], lang: str) -> bool:
    """Whether ``lang``'s characters are lowercased: ``True`` for all, else a set of languages."""
    return setting is True or (not isinstance(setting, bool) and lang in setting)


class Featurizer:
    """Word ids per language + char ids shared by all languages.

    ``vocabs[lang]`` lists the words of that language's (pruned) vector table,
    ids 0/1 being padding/unknown. Lookup tries the form, then its lowercase
    (``lowercase`` languages look up the lowercase only).
    """

    def __init__(
        self,
        vocabs: dict[str, list[str]],
        chars: list[str],
        *,
        lowercase: Sequence[str] = (),
        lowercase_chars: bool | Collection[str] = False,
        max_word_len: int = 20,
    ) -> None:
        self.vocabs = vocabs
        self.index = {lang: {w: i for i, w in enumerate(words)} for lang, words in vocabs.items()}
        self.chars = chars
        self.char_index = {c: i for i, c in enumerate(chars)}
        self.lowercase = set(lowercase)
        self.lowercase_chars = lowercase_chars  # True: every language; else the languages that are
        self.max_word_len = max_word_len

    @staticmethod
    def build_chars(
        sentences_by_lang: dict[str, list[list[str]]], lowercase_chars: bool | Collection[str], min_count: int = 1
    ) -> list[str]:
        """Char vocabulary from the training text of all languages (0 pad, 1 unknown)."""
        counts: dict[str, int] = {}
        for lang, sents in sentences_by_lang.items():
            low = chars_lowercased(lowercase_chars, lang)
            for s in sents:
                for w in s:
                    for c in w.lower() if low else w:
                        counts[c] = counts.get(c, 0) + 1
        return [PAD_WORD, UNK_WORD] + sorted(c for c, n in counts.items() if n >= min_count)

    def word_id(self, lang: str, form: str) -> int:
        idx = self.index[lang]
        if lang in self.lowercase:
            return idx.get(form.lower(), UNK)
        i = idx.get(form)
        return i if i is not None else idx.get(form.lower(), UNK)

    def encode(self, lang: str, sentences: Sequence[Sequence[str]]) -> "EncodedCorpus":
        if lang not in self.index:
            raise KeyError(lang)
        form_ids: dict[str, int] = {}
        flat = np.empty(sum(len(s) for s in sentences), dtype=np.int64)
        k = 0
        for s in sentences:  # one pass over the corpus at load time
            for w in s:
                flat[k] = form_ids.setdefault(w, len(form_ids))
                k += 1
        forms = list(form_ids)
        form_word = np.fromiter((self.word_id(lang, f) for f in forms), dtype=np.int64, count=len(forms))
        L = self.max_word_len
        form_chars = np.zeros((len(forms), L), dtype=np.int64)
        ci = self.char_index
        low = chars_lowercased(self.lowercase_chars, lang)
        for i, f in enumerate(forms):
            f = f.lower() if low else f
            ids = [ci.get(c, UNK) for c in f[:L]]
            form_chars[i, : len(ids)] = ids
        lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
        offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return EncodedCorpus(lang, flat, offsets, lengths, form_word, form_chars)


@dataclass
class EncodedCorpus:
    lang: str
    flat_forms: np.ndarray  # all tokens as form ids, sentences concatenated
    offsets: np.ndarray  # sentence i = flat_forms[offsets[i]:offsets[i+1]]
    lengths: np.ndarray
    form_word: np.ndarray  # form id → word id (vector row)
    form_chars: np.ndarray  # form id → char ids (max_word_len,)
    labels: np.ndarray | None = None  # flat tag ids (aligned with flat_forms) or class ids per sentence

    def __len__(self) -> int:
        return len(self.lengths)

    def n_tokens(self) -> int:
        return int(self.lengths.sum())

    def padded(self, idx: np.ndarray, values: np.ndarray, fill: int) -> np.ndarray:
        """Rows ``idx`` of a flat per-token array as a (B, T) matrix."""
        lens = self.lengths[idx]
        T = max(int(lens.max()), 1) if len(idx) else 1
        out = np.full((len(idx), T), fill, dtype=np.int64)
        row = np.repeat(np.arange(len(idx)), lens)
        starts = self.offsets[idx]
        # position of each token inside its sentence, without a per-token loop
        col = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
        out[row, col] = values[np.repeat(starts, lens) + col]
        return out

    def batch(self, idx: np.ndarray, with_chars: bool = True, with_labels: bool = True, token_level: bool = True):
        """Tensorise sentences ``idx`` into a :class:`mltl.models.man_moe.Batch`."""
        import torch

        from mltl.models.man_moe import Batch

        idx = np.asarray(idx, dtype=np.int64)
        forms = self.padded(idx, self.flat_forms, -1)
        mask = forms >= 0
        words = np.where(mask, self.form_word[np.maximum(forms, 0)], PAD)
        chars = char_index = None
        if with_chars:
            uniq, inv = np.unique(forms[mask], return_inverse=True)
            ch = self.form_chars[uniq]
            width = max(int((ch != 0).sum(1).max()) if len(uniq) else 1, 1)
            chars = torch.from_numpy(np.ascontiguousarray(ch[:, :width]))
            ci = np.zeros(forms.shape, dtype=np.int64)
            ci[mask] = inv
            char_index = torch.from_numpy(ci)
        labels = None
        if with_labels and self.labels is not None:
            if token_level:
                labels = torch.from_numpy(self.padded(idx, self.labels, -100))
            else:
                labels = torch.from_numpy(self.labels[idx])
        return Batch(
            self.lang,
            torch.from_numpy(words),
            torch.from_numpy(self.lengths[idx].copy()),
            torch.from_numpy(mask),
            chars,
            char_index,
            labels,
        )
