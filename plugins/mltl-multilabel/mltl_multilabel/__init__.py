"""mltl plugin: multi-label document classification, registered as task and head ``multilabel``.

    mltl train --task multilabel --sources en,es --target de --data data/ --vectors aligned/ -o out

Data: ``DATA/<lang>/{train,dev,test,unlabeled}.jsonl`` with ``{"text": ..., "labels": [...]}``
(or ``"tokens"`` instead of ``"text"``), or TSV files ``l1,l2<TAB>text`` given per language
in the config (``[data.files.en] train = "en.tsv"``). Output of ``mltl predict --format
jsonl``: ``labels`` (every label whose probability reaches its threshold), ``probs`` (one
sigmoid probability per label) and ``label`` (the most probable one).
"""

from mltl.registry import register_head, register_task
from mltl_multilabel.task import MultiLabelHead, MultiLabelModel, MultiLabelTask, f1_scores, read_file  # noqa: F401

MLTL_API_VERSION = 1

register_task("multilabel")(MultiLabelTask())
register_head("multilabel")(MultiLabelHead)
