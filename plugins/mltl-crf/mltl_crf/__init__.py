"""mltl plugin: a linear-chain CRF predictor head, registered as ``crf``.

``mltl train --head crf`` puts a CRF on top of C's emissions: the MoE's mixed
label log-probabilities (or the single MLP's with ``--no-c-moe``), so the expert
gate G2 and its loss work as with the default head.
"""

from mltl.registry import register_head
from mltl_crf.crf import CRFHead, LinearChainCRF, allowed_transitions  # noqa: F401

MLTL_API_VERSION = 1

register_head("crf")(CRFHead)
