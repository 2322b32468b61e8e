"""Tests for recog.metrics: alignment counts, scoring totals and report formatting."""

from __future__ import annotations

import random

import editdistance
import pytest

from recog.metrics import (
    Alignment,
    ErrorReport,
    align,
    per_utterance_report,
    score,
    tokenize,
)


def test_tokenize_units() -> None:
    assert tokenize("  a  bc ", "char") == ["a", " ", "b", "c"]
    assert tokenize("the  cat\tsat", "word") == ["the", "cat", "sat"]
    assert tokenize("sil ah b sil", "phone") == ["sil", "ah", "b", "sil"]
    assert tokenize("", "char") == []
    with pytest.raises(ValueError):
        tokenize("x", "bpe")


def test_word_sub_and_ins() -> None:
    a = align("the cat sat".split(), "the bat sat on".split())
    assert (a.sub, a.dels, a.ins, a.errors, a.ref_len) == (1, 0, 1, 2, 3)
    assert a.ops == [("C", "the", "the"), ("S", "cat", "bat"), ("C", "sat", "sat"), ("I", None, "on")]


@pytest.mark.parametrize(
    "ref, hyp, sdi",
    [
        ("abc", "abc", (0, 0, 0)),
        ("abc", "axc", (1, 0, 0)),
        ("abc", "ac", (0, 1, 0)),
        ("abc", "abcd", (0, 0, 1)),
        ("kitten", "sitting", (2, 0, 1)),
        ("a b", "ab", (0, 1, 0)),  # the missing space is a deletion at char level
        ("ab", "a b", (0, 0, 1)),
        ("abc", "", (0, 3, 0)),
        ("", "xy", (0, 0, 2)),
    ],
)
def test_char_counts(ref: str, hyp: str, sdi: tuple[int, int, int]) -> None:
    a = align(tokenize(ref, "char"), tokenize(hyp, "char"))
    assert (a.sub, a.dels, a.ins) == sdi


def test_alignment_reconstructs_both_sides() -> None:
    a = align(list("intention"), list("execution"))
    assert [r for _, r, _ in a.ops if r is not None] == list("intention")
    assert [h for _, _, h in a.ops if h is not None] == list("execution")
    assert a.errors == 5


def test_tie_break_prefers_substitution() -> None:
    a = align(["a"], ["b"])
    assert a.ops == [("S", "a", "b")]


def test_errors_equal_editdistance_random() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        ref = [rng.choice("abcd ") for _ in range(rng.randint(0, 12))]
        hyp = [rng.choice("abcde") for _ in range(rng.randint(0, 12))]
        a = align(ref, hyp)
        assert a.errors == editdistance.eval(ref, hyp)
        assert a.sub + a.dels + a.ins == a.errors
        assert a.sub + a.dels + sum(op == "C" for op, _, _ in a.ops) == len(ref)
        assert a.sub + a.ins + sum(op == "C" for op, _, _ in a.ops) == len(hyp)
        assert isinstance(a, Alignment)


def test_score_totals_missing_extra() -> None:
    refs = {"u1": "the cat sat", "u2": "a b c d", "u3": "hello world"}
    hyps = {"u1": "the bat sat on", "u2": "a b c d", "zz": "ignored"}
    rep = score(refs, hyps, "word")
    assert rep.n_utts == 3
    assert rep.ref_len == 3 + 4 + 2
    assert (rep.sub, rep.dels, rep.ins) == (1, 2, 1)
    assert rep.missing == ["u3"]
    assert rep.extra == ["zz"]
    assert rep.error_rate == pytest.approx(100 * 4 / 9)
    assert rep.confusions[("cat", "bat")] == 1
    assert ("u3", 2, 0, 2, 0) in rep.per_utt


def test_score_char_counts_spaces() -> None:
    rep = score({"a": "ab cd"}, {"a": "abcd"}, "char")
    assert rep.ref_len == 5
    assert (rep.sub, rep.dels, rep.ins) == (0, 1, 0)
    assert rep.error_rate == pytest.approx(20.0)


def test_error_rate_empty() -> None:
    assert ErrorReport(unit="word").error_rate == 0.0
    rep = score({"a": ""}, {"a": ""}, "char")
    assert rep.error_rate == 0.0 and rep.ref_len == 0
    rep = score({"a": ""}, {"a": "x"}, "char")
    assert rep.ins == 1 and rep.error_rate == float("inf")


def test_format_kaldi_style() -> None:
    rep = ErrorReport(unit="char", n_utts=50, ref_len=1634, sub=63, dels=40, ins=20)
    assert rep.format().splitlines()[0] == (
        "%CER 7.53 [ 123 / 1634, 20 ins, 40 del, 63 sub ] over 50 utterances"
    )
    assert ErrorReport(unit="word", ref_len=3, sub=1).format().startswith("%WER 33.33 [ 1 / 3,")
    assert ErrorReport(unit="phone", ref_len=8, ins=1).format().startswith("%PER 12.50 [ 1 / 8,")


def test_format_confusions() -> None:
    rep = score({"a": "ab ab", "b": "a b"}, {"a": "xb xb", "b": "a_b"}, "char")
    text = rep.format(top_confusions=5)
    assert "a -> x 2" in text
    assert "<space> -> _ 1" in text
    assert "->" not in rep.format(top_confusions=0)


def test_per_utterance_report_worst_first() -> None:
    refs = {"good": "a b c d", "bad": "a b", "mid": "a b c d"}
    hyps = {"good": "a b c d", "bad": "x", "mid": "a b c"}
    lines = per_utterance_report(score(refs, hyps, "word")).splitlines()
    assert lines[0] == "id ref_len S D I err%"
    assert lines[1] == "bad 2 1 1 0 100.00"
    assert lines[2] == "mid 4 0 1 0 25.00"
    assert lines[3] == "good 4 0 0 0 0.00"
