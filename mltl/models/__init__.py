"""MAN-MoE building blocks (Chen et al., ACL 2019), named as in the paper.

- :mod:`charcnn`       CharCNN word representation (shared by all languages)
- :mod:`encoders`      Fs / Fp base extractors (BiLSTM) and a Kim CNN
- :mod:`moe`           mixture of experts + expert gate G
- :mod:`discriminator` language discriminator D
- :mod:`heads`         task-specific predictor C (tagging, classification)
- :mod:`man_moe`       the assembled model with ablation flags
- :mod:`model`         a trained model: featurizer + network + labels; ``load_model``

Importing this package does not import torch; the submodules do.
"""

from __future__ import annotations

from mltl.device import DEFAULT_DEVICE

__all__ = ["load_model"]


def load_model(path, device: str = DEFAULT_DEVICE):  # noqa: ANN001 - lazy re-export
    """Load a model directory written by ``mltl train`` (see :mod:`mltl.models.model`)."""
    from mltl.models.model import load_model as _load

    return _load(path, device=device)
