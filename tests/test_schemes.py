import pytest
from seqeval.metrics.sequence_labeling import get_entities

from mltl.data import schemes

BIO = [
    ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-ORG"],
    ["O", "O", "B-MISC"],
    ["B-ORG", "I-ORG", "I-ORG"],
    ["O"],
]


@pytest.mark.parametrize("target", ["iob1", "bioes", "bilou"])
def test_round_trip_through_every_scheme(target):
    for tags in BIO:
        other = schemes.convert(tags, "bio", target)
        assert schemes.problems(other, target) == []
        assert schemes.convert(other, target, "bio") == tags


@pytest.mark.parametrize("target", ["iob1", "bioes", "bilou", "bio"])
def test_detect_scheme(target):
    converted = [schemes.convert(t, "bio", target) for t in BIO]
    assert schemes.detect_scheme(converted) == target


def test_detect_plain_tags():
    assert schemes.detect_scheme([["NOUN", "VERB", "PUNCT"]]) == "plain"
    assert schemes.detect_scheme([["NOUN", "B-X", "PUNCT"]]) == "plain"  # the majority decides


def test_stray_tags_do_not_make_an_entity_file_plain():
    # a typo ("X-FOO") among entity tags: still BIO / IOB1, and the stray is reported by prepare
    assert schemes.detect_scheme(BIO + [["B-PER", "X-FOO", "O"]]) == "bio"
    assert schemes.detect_scheme([["I-PER", "I-PER", "O", "I-LOC", "PER"]]) == "iob1"


def test_iob1_specifics():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    assert schemes.to_spans(iob1) == [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]
    assert schemes.convert(iob1, "iob1", "bio") == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]


def test_spans_agree_with_seqeval_on_bio_and_invalid_sequences():
    cases = BIO + [["O", "I-PER", "I-PER", "B-LOC", "I-PER", "O"], ["I-ORG"], ["B-PER", "I-LOC", "I-LOC"]]
    for tags in cases:
        ours = sorted((t, s, e - 1) for t, s, e in schemes.to_spans(tags))
        assert ours == sorted(get_entities(list(tags))), tags


def test_problems_report_i_after_o_and_after_other_type():
    tags = ["B-PER", "I-LOC", "O", "I-PER", "B-ORG", "I-ORG"]
    found = schemes.problems(tags, "bio")
    assert [i for i, _ in found] == [1, 3]
    assert "I-LOC after B-PER" in found[0][1]
    assert "I-PER after O" in found[1][1]
    repaired = schemes.repair(tags, "bio")
    assert repaired == ["B-PER", "B-LOC", "O", "B-PER", "B-ORG", "I-ORG"]
    assert schemes.problems(repaired, "bio") == []


def test_bioes_problems_unclosed_and_stray_end():
    assert schemes.problems(["B-PER", "O"], "bioes")
    assert schemes.problems(["O", "E-PER"], "bioes")
    assert schemes.problems(["B-PER", "I-PER", "E-PER", "S-LOC"], "bioes") == []
