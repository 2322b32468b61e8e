"""Tests for LM shallow fusion in the CTC prefix beam search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recog.decode import prefix_beam_search
from recog.decode.kneser_ney import train_kneser_ney
from recog.decode.lm import CharLMScorer, WordLMScorer
from recog.tokens import SymbolTable

TEXTS = ["the cat", "a cat", "the hat", "a hat", "that cat sat", "the cat sat", "cat"]
TABLE = SymbolTable.from_texts(TEXTS + ["cot"], unit="char")  # <blk> <space> a c e h o s t
SYMS = TABLE.symbols
LEXICON = sorted({w for t in TEXTS for w in t.split()})


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _frames(spec: list[dict[str, float]]) -> np.ndarray:
    """(T, V) log posteriors: each frame gives some symbols' probabilities, the rest is shared."""
    V = len(SYMS)
    out = np.empty((len(spec), V))
    for t, probs in enumerate(spec):
        rest = (1.0 - sum(probs.values())) / (V - len(probs))
        row = np.full(V, rest)
        for s, p in probs.items():
            row[TABLE.index[s]] = p
        out[t] = np.log(row)
    return out


def _char_lm(order: int = 3):
    return train_kneser_ney([TABLE.split(t) for t in TEXTS], order=order)


def _word_lm(order: int = 2):
    return train_kneser_ney([t.split() for t in TEXTS], order=order)


# acoustics slightly prefer the non-word "cot" over "cat"
COT_OR_CAT = _frames(
    [{"c": 0.9}, {"<blk>": 0.9}, {"o": 0.5, "a": 0.45}, {"<blk>": 0.9}, {"t": 0.9}, {"<blk>": 0.9}]
)


def _random_lp(rng: np.random.Generator, T: int) -> np.ndarray:
    return _log_softmax(2.5 * rng.standard_normal((T, len(SYMS))))


@pytest.mark.parametrize("seed", range(5))
def test_alpha_zero_equals_plain_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lp = _random_lp(rng, 20)
    plain = prefix_beam_search(lp, beam=8, nbest=5)
    for scorer in (CharLMScorer(_char_lm()), WordLMScorer(_word_lm())):
        fused = prefix_beam_search(lp, beam=8, nbest=5, lm=scorer, alpha=0.0, symbols=SYMS)
        assert len(fused) == len(plain)
        for f, p in zip(fused, plain):
            assert f.tokens == p.tokens
            assert f.score == p.score == f.am_score == p.am_score
            assert f.start_frames == p.start_frames and f.end_frames == p.end_frames
            assert f.confidences == p.confidences
    assert all(h.lm_score == 0.0 for h in plain)


def test_char_lm_flips_to_word() -> None:
    assert TABLE.decode(prefix_beam_search(COT_OR_CAT, beam=8)[0].tokens) == "cot"
    scorer = CharLMScorer(_char_lm())
    h = prefix_beam_search(COT_OR_CAT, beam=8, lm=scorer, alpha=0.5, symbols=SYMS)[0]
    assert TABLE.decode(h.tokens) == "cat"
    assert h.am_score < prefix_beam_search(COT_OR_CAT, beam=8)[0].score  # won on the LM term
    # a SymbolTable works as `symbols` too
    h2 = prefix_beam_search(COT_OR_CAT, beam=8, lm=scorer, alpha=0.5, symbols=TABLE)[0]
    assert h2.tokens == h.tokens


def test_word_lm_with_lexicon_flips_to_word() -> None:
    scorer = WordLMScorer(_word_lm(), lexicon=LEXICON)
    # the lexicon alone (alpha = 0) already excludes "cot"
    for alpha in (0.0, 0.3):
        h = prefix_beam_search(COT_OR_CAT, beam=8, lm=scorer, alpha=alpha, symbols=SYMS)[0]
        assert TABLE.decode(h.tokens) == "cat"


@pytest.mark.parametrize("seed", range(6))
def test_word_lm_lexicon_never_outputs_non_words(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    scorer = WordLMScorer(_word_lm(), lexicon=LEXICON)
    lp = _random_lp(rng, 30)
    hyps = prefix_beam_search(lp, beam=16, nbest=10, lm=scorer, alpha=0.5, beta=1.0, symbols=SYMS)
    assert hyps and any(h.tokens for h in hyps)
    for h in hyps:
        assert math.isfinite(h.score)
        for word in TABLE.decode(h.tokens).split():
            assert word in LEXICON


def _check_scores(hyps, lm, alpha: float, beta: float, word_level: bool) -> None:
    scores = [h.score for h in hyps]
    assert scores == sorted(scores, reverse=True)
    for h in hyps:
        text = TABLE.decode(h.tokens)
        if word_level:
            count = len(text.split())
            expect_lm = lm.score_sentence(text.split())
        else:
            count = len(h.tokens)
            expect_lm = lm.score_sentence([SYMS[i] for i in h.tokens])
        assert h.lm_score == pytest.approx(expect_lm, abs=1e-9)
        assert h.am_score + alpha * h.lm_score + beta * count == pytest.approx(h.score, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_nbest_sorted_and_score_decomposition(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    lp = _random_lp(rng, 25)
    clm, wlm = _char_lm(), _word_lm()
    hyps = prefix_beam_search(lp, beam=10, nbest=6, lm=CharLMScorer(clm), alpha=0.7, beta=0.4, symbols=SYMS)
    assert len(hyps) == 6
    _check_scores(hyps, clm, 0.7, 0.4, word_level=False)
    hyps = prefix_beam_search(lp, beam=10, nbest=6, lm=WordLMScorer(wlm), alpha=0.7, beta=1.5, symbols=SYMS)
    _check_scores(hyps, wlm, 0.7, 1.5, word_level=True)
    hyps = prefix_beam_search(
        lp, beam=10, nbest=6, lm=WordLMScorer(wlm, lexicon=LEXICON), alpha=0.7, beta=1.5, symbols=SYMS
    )
    _check_scores(hyps, wlm, 0.7, 1.5, word_level=True)


def test_am_score_is_exact_acoustic_score() -> None:
    rng = np.random.default_rng(5)
    lp = _random_lp(rng, 4)
    plain = prefix_beam_search(lp, beam=100000, prune_logp=None, nbest=100000)
    exact = {tuple(h.tokens): h.score for h in plain}
    clm = _char_lm(order=2)
    hyps = prefix_beam_search(
        lp, beam=100000, prune_logp=None, nbest=50, lm=CharLMScorer(clm), alpha=1.0, beta=0.5, symbols=SYMS
    )
    assert len(hyps) == 50
    for h in hyps:
        assert h.am_score == pytest.approx(exact[tuple(h.tokens)], abs=1e-9)
    _check_scores(hyps, clm, 1.0, 0.5, word_level=False)
    # with an exact search the fused best is the arg max of the fused score over all sequences
    best = max(exact, key=lambda k: exact[k] + clm.score_sentence([SYMS[i] for i in k]) + 0.5 * len(k))
    assert tuple(hyps[0].tokens) == best


def test_empty_input_and_argument_checks() -> None:
    clm = _char_lm()
    h = prefix_beam_search(np.zeros((0, len(SYMS))), lm=CharLMScorer(clm), alpha=0.5, symbols=SYMS)[0]
    assert h.tokens == [] and h.am_score == 0.0
    assert h.lm_score == pytest.approx(clm.score_sentence([]))
    assert h.score == pytest.approx(0.5 * h.lm_score)
    with pytest.raises(ValueError, match="symbols"):
        prefix_beam_search(COT_OR_CAT, lm=CharLMScorer(clm), alpha=0.5)
    with pytest.raises(ValueError, match="symbols"):
        prefix_beam_search(COT_OR_CAT, lm=CharLMScorer(clm), alpha=0.5, symbols=SYMS[:-1])


def test_no_hypothesis_survives_the_lexicon() -> None:
    # "c a" then nothing: "ca" is a lexicon prefix but no word, "t" is pruned acoustically
    lp = _frames([{"c": 0.999}, {"a": 0.999}])
    scorer = WordLMScorer(_word_lm(), lexicon=["cat"])
    hyps = prefix_beam_search(lp, beam=1, lm=scorer, alpha=0.5, symbols=SYMS)
    assert len(hyps) == 1 and hyps[0].tokens == [] and hyps[0].score == float("-inf")


# written by hand (log10), not by recog's trainer: p(cat|<s>) = 10^-0.3, "hat" only through back-off
HAND_ARPA = """\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-1.0\t<unk>
-99\t<s>\t-0.2
-0.5\t</s>
-0.6\tcat\t-0.1
-0.9\that\t-0.4

\\2-grams:
-0.3\t<s> cat
-0.05\tcat </s>
-0.2\that </s>

\\end\\
"""


def test_decoding_with_a_hand_written_arpa_gives_the_scores_the_file_implies(tmp_path) -> None:
    from recog.decode.arpa import read_arpa

    (tmp_path / "hand.arpa").write_text(HAND_ARPA, encoding="utf-8")
    lm = read_arpa(tmp_path / "hand.arpa")
    ln10 = math.log(10)
    # "cat": <s> cat (bigram -0.3) + cat </s> (bigram -0.05)
    # "hat": bow(<s>) -0.2 + p(hat) -0.9, then hat </s> (bigram -0.2)
    implied = {"cat": (-0.3 - 0.05) * ln10, "hat": (-0.2 - 0.9 - 0.2) * ln10}
    # acoustics prefer "hat" by a factor 0.55 / 0.4
    lp = _frames([{"h": 0.55, "c": 0.4}, {"<blk>": 0.9}, {"a": 0.9}, {"<blk>": 0.9}, {"t": 0.9}])
    plain = prefix_beam_search(lp, beam=50)
    assert TABLE.decode(plain[0].tokens) == "hat"
    hyps = prefix_beam_search(lp, beam=50, nbest=5, lm=WordLMScorer(lm), alpha=1.0, beta=0.0, symbols=SYMS)
    got = {TABLE.decode(h.tokens): h.lm_score for h in hyps}
    for word, score in implied.items():
        assert got[word] == pytest.approx(score, abs=1e-9)
    # the file's 0.95 log10 preference for "cat" outweighs the acoustic log(0.55/0.4) = 0.32
    assert TABLE.decode(hyps[0].tokens) == "cat"
